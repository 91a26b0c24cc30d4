"""The root command: version, help, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agentkit import __version__


def test_help_and_version_do_not_import_boto3_or_langgraph() -> None:
    probe = (
        "import sys\n"
        "from agentkit.cli.app import main\n"
        "for argv in (['--help'], ['--version'], ['emulate', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), exc.code\n"
        "names = ('boto3', 'botocore', 'langgraph', 'hypercorn', 'rich', 'yaml')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert f"agentkit {__version__}" in result.stdout
    assert "HEAVY []" in result.stdout


def test_fmea_imports_no_model_stack(tmp_path: Path) -> None:
    """FMEA never runs a graph or calls Bedrock without a model: it must not pay for them."""
    example = Path(__file__).resolve().parents[2] / "examples" / "three-tier-single-az.yaml"
    probe = (
        "import sys\n"
        "from agentkit.cli.app import main\n"
        "try:\n"
        f"    main(['fmea', {str(example)!r}, '--out', {str(tmp_path)!r}, '--no-model'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('boto3', 'botocore', 'langgraph', 'langchain_core', 'opentelemetry', 'rich')\n"
        "print('HEAVY', sorted(m for m in names if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_bad_config_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text("models:\n  routes:\n    - {model: m, region: mars-1}\n")
    result = run_cli("gameday", "-c", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"agentkit: error: {path}:3: models.routes[0] (m@mars-1): unknown Region 'mars-1'"
    ]
    path.write_text("limits:\n  max_tokens: 0\n")
    result = run_cli("doctor", "-c", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"agentkit: error: {path}:2: limits.max_tokens: "
        "Input should be greater than or equal to 1 (got 0)"
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_contract_imports() -> None:
    from agentkit import Gateway, load_config

    assert Gateway.from_config(load_config()).routes[0].region == "us-east-1"
