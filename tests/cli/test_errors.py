"""The CLI's one error path: one line on stderr, the documented exit code, --debug for more."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.cli.errors import describe, one_line
from agentkit.errors import ConfigError, GateFailed

CAPACITY = """\
capacity:
  concurrent_threads: 20
  max_completion_tokens: 1000
  tokens_per_second: {tps}
  recursion_limit: 10
  burndown: 5
  traffic_share: {{us-east-1: 1.0}}
  quotas: {{us-east-1: {{tpm: 400000}}}}
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


@pytest.mark.parametrize(
    ("exc", "code", "start"),
    [
        (ConfigError("f.yaml:2: bad"), 2, "f.yaml:2: bad"),
        (GateFailed("gate"), 3, "gate"),
        (RecursionError("maximum recursion depth exceeded"), 2, "input is nested too deeply"),
        (MemoryError(), 1, "out of memory"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x.md"), 2, "/ro/x.md: Read-only"),
        (OSError(errno.EIO, "I/O error"), 1, "I/O error"),
        (
            ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
            2,
            "a number",
        ),
        (ValueError("embedded null character"), 2, "input contains a NUL byte"),
        (KeyError("x"), 1, "unexpected KeyError: 'x' (run with --debug"),
    ],
)
def test_every_exception_has_a_line_and_a_code(exc: BaseException, code: int, start: str) -> None:
    message, exit_code = describe(exc)
    assert exit_code == code
    assert message.startswith(start)


def test_one_line_flattens_escapes_and_bounds() -> None:
    assert one_line("a\nb\r\n\x00c") == "a b \\x00c"
    assert len(one_line("x" * 10_000)) == 500


def test_infinite_capacity_input_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text(CAPACITY.format(tps=".inf"))
    result = run_cli("capacity", "-c", str(path))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    expected = f"agentkit: error: {path}:4: invalid YAML: numbers must be finite"
    assert result.stderr.startswith(expected)


def test_debug_shows_the_traceback_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text(CAPACITY.format(tps="0"))
    quiet = run_cli("capacity", "-c", str(path))
    loud = run_cli("--debug", "capacity", "-c", str(path))
    env = {**_environ(), "AGENTKIT_DEBUG": "1"}
    by_env = run_cli("capacity", "-c", str(path), env=env)
    assert "Traceback" not in quiet.stderr
    for result in (loud, by_env):
        assert result.returncode == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert result.stderr.strip().splitlines()[-1] == quiet.stderr.strip()


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_closed_pipe_is_a_quiet_exit_1() -> None:
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before agentkit writes a byte
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "tools", "show", "dr_advisor"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""
