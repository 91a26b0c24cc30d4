"""A chat session survives SIGKILL in the middle of a turn and resumes with its history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.agents.dr.agent import build_advisor, history
from agentkit.agents.sessions import SessionStore
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator

from .test_ask import write_config

QUESTION = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"


def turns(db: Path) -> list[dict[str, str]]:
    with SessionStore(db) as store:
        runtime = build_advisor(AgentkitConfig(), checkpointer=store.checkpointer, model=None)
        return history(runtime, "s1")


def wait_for(condition: object, timeout: float = 120.0) -> None:
    """Poll until ``condition`` holds; the bound only catches a hang (a cold start of the chat
    process under load takes tens of seconds), it is not how long the test waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def chat(config: Path, db: Path, stdin: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit",
            "chat",
            "-c",
            str(config),
            "--session",
            "s1",
            "--sessions",
            str(db),
        ],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.emulator(regions=["us-east-1", "us-west-2"])
def test_sigkill_mid_turn_then_resume(bedrock_emulator: Emulator, tmp_path: Path) -> None:
    config, db = write_config(tmp_path, bedrock_emulator), tmp_path / "sessions.sqlite"
    first = chat(config, db)
    assert first.stdin is not None
    try:
        first.stdin.write(QUESTION + "\n")
        first.stdin.flush()
        wait_for(lambda: db.exists() and len(turns(db)) == 1)
        bedrock_emulator.set_faults({"regions": {"us-east-1": {"latency_ms": 20_000}}})
        calls_before = len(bedrock_emulator.calls())
        first.stdin.write("and what about RTO 1 hour instead?\n")
        first.stdin.flush()
        wait_for(lambda: len(bedrock_emulator.calls()) > calls_before)  # turn 2 is in flight
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL
    bedrock_emulator.set_faults({})
    assert [t["question"] for t in turns(db)] == [QUESTION]  # turn 1 intact, turn 2 never landed
    second = chat(config, db)
    out, err = second.communicate("/quit\n", timeout=60)
    assert second.returncode == 0, err
    assert "session s1: 1 earlier turn(s)" in out
    assert QUESTION in out
