"""High-stakes advice is withheld until a person approves it: `chat` streams and prints none of
it before the approval prompt, shows it once approved and the safe option in its place when
declined; `ask` prints it marked as pending approval. Both kinds: data loss beyond the RPO and a
copy out of the partition."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from agentkit.agents.dr.agent import build_advisor
from agentkit.agents.dr.workflow import SAFE_OPTION
from agentkit.agents.sessions import SessionStore
from agentkit.bedrock.types import ModelRequest
from agentkit.cli.app import app
from agentkit.cli.chat import Chat
from agentkit.config import AgentkitConfig
from agentkit.graph import AgentRuntime
from agentkit.testing import FunctionModel
from tests.agents.dr.test_approval import LOSSY, SAFE, _NoSpans

# A copy out of the partition: the GovCloud workload's out-of-band backup in us-east-1
CROSS = (
    "records-api on Aurora in us-gov-west-1, RTO 60 min, RPO 15 min, could we also fail over "
    "to us-east-1?"
)
ADVICE = "Pilot light fits."  # what the scripted model composes


class Terminal(Console):
    """A terminal whose user types the scripted replies; what was on the screen when each
    prompt came up is kept."""

    def __init__(self, *replies: str) -> None:
        super().__init__(file=io.StringIO(), width=200, color_system=None, force_terminal=False)
        self.replies = list(replies)
        self.at_prompt: list[str] = []

    @property
    def text(self) -> str:
        output = self.file
        assert isinstance(output, io.StringIO)
        return output.getvalue()

    def input(self, prompt: Any = "", **_: Any) -> str:
        self.at_prompt.append(self.text)
        self.print(prompt, end="", markup=False)
        if not self.replies:
            raise EOFError
        return self.replies.pop(0)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[tuple[AgentRuntime, SessionStore]]:
    store = SessionStore(tmp_path / "s.sqlite")

    def compose(request: ModelRequest) -> str:
        return ADVICE  # extraction gets no structure from this: the parser decides

    advisor = build_advisor(
        AgentkitConfig(), model=FunctionModel(compose), checkpointer=store.checkpointer
    )
    try:
        yield advisor, store
    finally:
        store.close()


def chat_turn(setup: tuple[AgentRuntime, SessionStore], question: str, *replies: str) -> Any:
    runtime, store = setup
    terminal = Terminal(*replies)
    chat = Chat(runtime, store, terminal, spans=_NoSpans(), approval_timeout_s=30)  # type: ignore[arg-type]
    chat.session = "w1"
    chat.turn(question)
    state = runtime.graph.get_state({"configurable": {"thread_id": "w1"}}).values
    return terminal, state


def test_chat_streams_ordinary_advice(runtime: Any) -> None:
    terminal, _ = chat_turn(runtime, SAFE)
    assert terminal.text.startswith(ADVICE)
    assert terminal.at_prompt == []  # no approval asked for


def test_chat_withholds_the_advice_until_it_is_approved(runtime: Any) -> None:
    terminal, state = chat_turn(runtime, LOSSY, "y")
    (before,) = terminal.at_prompt
    assert ADVICE not in before  # neither streamed nor printed before the prompt
    assert "Recommended strategy" not in before
    assert "approval required before this advice is shown" in before
    assert "data loss beyond the RPO: aurora (aurora): RPO 0 not achievable" in before
    after = terminal.text.removeprefix(before)
    assert ADVICE in after
    assert SAFE_OPTION not in after
    assert state["approval"]["status"] == "approved"
    assert state["turns"][-1]["answer"].startswith(ADVICE)


def test_a_declined_approval_replaces_the_advice_with_the_safe_option(runtime: Any) -> None:
    terminal, state = chat_turn(runtime, LOSSY, "n")
    assert ADVICE not in terminal.text  # never shown, before or after
    after = terminal.text.removeprefix(terminal.at_prompt[0])
    assert SAFE_OPTION in " ".join(after.split())  # as wrapped on the terminal
    assert state["answer"] == SAFE_OPTION
    assert state["turns"][-1]["approval"]["status"] == "declined"


def test_a_copy_out_of_the_partition_waits_for_approval_in_chat(runtime: Any) -> None:
    terminal, state = chat_turn(runtime, CROSS, "n")
    (before,) = terminal.at_prompt
    assert ADVICE not in before
    assert (
        "a copy out of the partition: an out-of-band backup copy to us-east-1 leaves the "
        "partition aws-us-gov"
    ) in before
    assert state["answer"] == SAFE_OPTION
    assert state["approval"]["status"] == "declined"
    assert [r.split(":")[0] for r in state["approval"]["reasons"]] == [
        "a copy out of the partition"
    ]


def test_ask_marks_a_copy_out_of_the_partition_and_exits_4() -> None:
    result = CliRunner().invoke(app, ["ask", "--json", CROSS])
    assert result.exit_code == 4, result.output
    answer = json.loads(result.stdout)
    assert answer["approval"] == {
        "status": "required",
        "reasons": [
            "a copy out of the partition: an out-of-band backup copy to us-east-1 leaves the "
            "partition aws-us-gov"
        ],
    }
    assert answer["answer"].startswith("**Recommended strategy")  # the advice, marked by approval


def test_ask_prints_high_stakes_advice_marked_as_pending_approval() -> None:
    result = CliRunner().invoke(app, ["ask", LOSSY])
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    marker = "PENDING APPROVAL: not to be acted on until a data owner approves it"
    assert lines[0] == marker
    assert lines[-1] == marker
    assert "Recommended strategy" in result.stdout
    assert "approval required" in result.stderr
