"""`agentkit eval` end to end: a small slice of the suites through the real promptfoo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.evals.conftest import EVALS


def agentkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)


def test_eval_help_loads_neither_boto3_nor_langgraph() -> None:
    probe = (
        "import sys\n"
        "from agentkit.cli.app import main\n"
        "try:\n"
        "    main(['eval', '--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None)\n"
        "print('HEAVY', sorted(m for m in ('boto3', 'langgraph') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert "--allow-known-failures" in done.stdout
    assert "HEAVY []" in done.stdout


def test_an_unknown_suite_is_exit_2_before_anything_is_installed() -> None:
    done = agentkit("eval", "no-such-suite", "--evals-dir", str(EVALS))
    assert done.returncode == 2
    assert "unknown suite 'no-such-suite'" in done.stderr


def test_a_slice_of_the_dr_suite_passes_and_writes_junit_and_html(
    promptfoo: Path, tmp_path: Path
) -> None:
    done = agentkit(
        "eval",
        "dr-advisor",
        "--filter",
        "^(us-ws-15-1|ask-rpo|relax-rto#1)$",
        "--out",
        str(tmp_path),
        "--evals-dir",
        str(EVALS),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout.splitlines()
    suite = tmp_path / "dr-advisor"
    junit = (suite / "results.junit.xml").read_text()
    assert junit.startswith("<?xml")
    assert 'tests="3"' in junit
    assert (suite / "report.html").stat().st_size > 0
    summary = json.loads((suite / "summary.json").read_text())
    assert summary["cases"] == {"ask-rpo": "pass", "relax-rto#1": "pass", "us-ws-15-1": "pass"}


def test_a_failing_case_and_a_regression_fail_the_gate(promptfoo: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baselines"
    baseline.mkdir()
    (baseline / "dr-advisor.json").write_text(
        json.dumps({"suite": "dr-advisor", "cases": {"us-ws-15-1": "pass", "gone": "pass"}})
    )
    known = tmp_path / "known.txt"
    known.write_text("dr-advisor:us-ws-15-1\n")  # listed, but it passes: stale
    done = agentkit(
        "eval",
        "dr-advisor",
        "--filter",
        "^us-ws-15-1$",
        "--out",
        str(tmp_path / "out"),
        "--compare",
        str(baseline),
        "--allow-known-failures",
        str(known),
        "--evals-dir",
        str(EVALS),
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "REGRESSED (passed in the baseline): gone" in done.stdout
    assert "STALE known failure (passes now; remove it from the list): us-ws-15-1" in done.stdout
