"""A worker killed with SIGKILL around a mutating MCP call; the run recovered in a new process.

The fault server (HTTP, owned by the test) counts executions and calls of ``record``; the worker
(tests/tools/mcp_worker.py) is a real process with its checkpoints in SQLite. Every wait is on
a file the worker or the server writes, polled with a generous deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.emulator.mcp_faults import HOLD, executions, running_http

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0
RESULT = {"recorded": "charge", "execution": 1}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def url(state: Path) -> Iterator[str]:
    with running_http(state) as address:
        yield address


def worker(url: str, database: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "tests.tools.mcp_worker", url, str(database), "t1", *options]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the worker ended early (exit {process.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError("the worker never reached the point where it is killed")
        time.sleep(0.02)


def kill_when(command: list[str], ready: Callable[[], bool]) -> None:
    """Start the worker, SIGKILL it once ``ready()``, and check it died of the signal."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for(ready, process)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=DEADLINE_S) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def recover(url: str, database: Path) -> dict[str, Any]:
    done = subprocess.run(
        worker(url, database, "--recover"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S * 2,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("stop", "server_calls"),
    [
        ("before", 1),  # nothing ran: the recovered run executes it once
        ("after", 1),  # the result is in the checkpoint: reused, the server is not called again
    ],
)
def test_a_run_killed_around_a_mutating_call_executes_it_once(
    url: str, state: Path, tmp_path: Path, stop: str, server_calls: int
) -> None:
    database, ready = tmp_path / "checkpoints.sqlite", tmp_path / "ready"
    kill_when(worker(url, database, "--stop", stop, "--signal", str(ready)), ready.exists)
    assert executions(state)["count"] == (1 if stop == "after" else 0)

    report = recover(url, database)
    assert report == {"stop_reason": "completed", "results": [RESULT], "tool_calls": ["record"]}
    counted = executions(state)
    assert (counted["count"], counted["calls"]) == (1, server_calls)


def test_a_run_killed_while_the_server_holds_the_answer_executes_it_once(
    url: str, state: Path, tmp_path: Path
) -> None:
    """The side effect happened, the answer never reached the worker: the recovered run sends
    the call again with the same idempotency key and the server answers the stored result."""
    database = tmp_path / "checkpoints.sqlite"
    (state / HOLD).touch()
    kill_when(worker(url, database), lambda: executions(state)["count"] == 1)
    (state / HOLD).unlink()

    report = recover(url, database)
    assert report == {"stop_reason": "completed", "results": [RESULT], "tool_calls": ["record"]}
    counted = executions(state)
    assert (counted["count"], counted["calls"]) == (1, 2)
