"""High-stakes advice waits for a person: `ask` marks it and exits 4; `chat` pauses (a LangGraph
interrupt), records the decision in the session, and takes the safe option on a timeout."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agentkit.agents.dr.agent import build_advisor
from agentkit.agents.dr.workflow import SAFE_OPTION
from agentkit.agents.sessions import SessionStore
from agentkit.cli.app import app
from agentkit.cli.chat import Chat
from agentkit.config import AgentkitConfig

LOSSY = "ledger-api on Aurora in us-east-1, RTO 60 min, RPO 0"  # unplanned failover loses data
SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"


def test_ask_marks_high_stakes_advice_and_exits_4() -> None:
    result = CliRunner().invoke(app, ["ask", "--json", LOSSY])
    assert result.exit_code == 4
    answer = json.loads(result.stdout)
    assert answer["approval"]["status"] == "required"
    assert "RPO 0 not achievable" in answer["approval"]["reasons"][0]
    assert "approval required" in result.stderr


def test_ordinary_advice_needs_no_approval() -> None:
    result = CliRunner().invoke(app, ["ask", "--json", SAFE])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["approval"] is None


def test_a_scripted_chat_approves_and_the_session_keeps_the_decision(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    script = f"{LOSSY}\ny\n/quit\n"
    result = CliRunner().invoke(app, ["chat", "--session", "c1", "--sessions", db], input=script)
    assert result.exit_code == 0, result.output
    assert "approval required" in result.output
    assert "approved by" in result.output
    store = SessionStore(Path(db))
    try:
        runtime = build_advisor(AgentkitConfig(), checkpointer=store.checkpointer)
        state = runtime.graph.get_state({"configurable": {"thread_id": "c1"}}).values
    finally:
        store.close()
    assert state["approval"]["status"] == "approved"
    assert len(state["turns"]) == 1  # the paused turn finished once the decision came


class SilentConsole:
    """A terminal nobody answers: input blocks until the test ends."""

    def __init__(self) -> None:
        self.printed: list[str] = []
        self.release = threading.Event()

    def print(self, *values: Any, **_: Any) -> None:
        self.printed.append(" ".join(str(v) for v in values))

    def input(self, prompt: str = "") -> str:
        self.release.wait(30)
        raise EOFError


def test_no_answer_within_the_timeout_takes_the_safe_option(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite")
    console = SilentConsole()
    try:
        runtime = build_advisor(AgentkitConfig(), checkpointer=store.checkpointer)
        chat = Chat(runtime, store, console, spans=_NoSpans(), approval_timeout_s=0.05)  # type: ignore[arg-type]
        chat.session = "c2"
        chat.turn(LOSSY)
        state = runtime.graph.get_state({"configurable": {"thread_id": "c2"}}).values
    finally:
        console.release.set()
        store.close()
    assert state["approval"]["status"] == "declined"
    assert (state["approval"]["by"], state["approval"]["note"]) == (
        "timeout",
        "no answer within 0.05 s",
    )
    assert state["answer"] == SAFE_OPTION  # the advice is replaced, not appended to
    assert any("declined" in line for line in console.printed)


class _NoSpans:
    def clear(self) -> None:
        pass

    def get_finished_spans(self) -> tuple[()]:
        return ()


def test_an_approval_left_by_ask_is_asked_for_when_chat_resumes(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    first = CliRunner().invoke(app, ["ask", "--session", "c3", "--sessions", db, LOSSY])
    assert first.exit_code == 4
    assert "agentkit chat --session c3" in first.stderr
    result = CliRunner().invoke(
        app, ["chat", "--session", "c3", "--sessions", db], input="n\n/quit\n"
    )
    assert result.exit_code == 0, result.output
    assert "approval required" in result.output
    assert "declined" in result.output
    assert SAFE_OPTION[:40] in result.output
