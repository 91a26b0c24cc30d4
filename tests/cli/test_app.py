"""The root command: version, help, lazy imports."""

from __future__ import annotations

import subprocess
import sys

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
        "names = ('boto3', 'botocore', 'langgraph', 'hypercorn')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert f"agentkit {__version__}" in result.stdout
    assert "HEAVY []" in result.stdout
