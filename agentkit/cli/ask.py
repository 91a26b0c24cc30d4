"""``agentkit ask``: one question to the DR advisor, for people and scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption, QuestionArgument, SessionsOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.agents.dr.agent import Answer


def sessions_path(path: Path | None) -> Path:
    from agentkit.paths import agentkit_home

    return path or Path(agentkit_home()) / "sessions.sqlite"


APPROVAL_REQUIRED = 4  # exit code: the advice is high-stakes and waits for a person's approval


@traced("ask")
def ask(
    question: QuestionArgument,
    session: Annotated[
        str | None, typer.Option("--session", help="Continue (or start) this session.")
    ] = None,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    sessions: SessionsOption = None,
) -> None:
    """Ask the DR advisor one question.

    Exit 0 with an answer; 4 when the advice accepts data loss beyond the RPO or moves data out of
    its partition and waits for a person's approval; 2 for a mistake in the question.
    """
    from agentkit.agents.dr.agent import ask as ask_advisor
    from agentkit.agents.dr.agent import build_advisor
    from agentkit.agents.sessions import open_sessions
    from agentkit.config import load_config
    from agentkit.ops import obeyed

    settings = load_config(config)  # sessions.backend: sqlite (--sessions) or postgres
    store = open_sessions(settings.sessions, sessions_path(sessions)) if session else None
    try:  # spans and metrics go to the command's providers (agentkit.cli.traced)
        with obeyed(settings):  # the operator's overrides (docs/ops.md), the kill switch first
            runtime = build_advisor(settings, checkpointer=store.checkpointer if store else None)
            answer = ask_advisor(runtime, question, session)
    finally:
        if store is not None:
            store.close()
    if answer.source == "input_error":
        from agentkit.errors import InputError

        raise InputError(answer.answer)  # one line, exit 2: the question holds a mistake
    if json_output:  # the advice as the answer; `approval` says it waits for a person
        payload = answer.to_json()
        if answer.withheld is not None:
            payload["answer"] = answer.withheld
        typer.echo(json.dumps(payload, indent=2))
    elif answer.withheld is not None:
        print_pending(answer)
    else:
        from agentkit.cli.render import print_answer

        print_answer(answer)
    if answer.needs_approval:
        assert answer.approval is not None
        where = (
            f"approve or decline it in `agentkit chat --session {session}`"
            if answer.approval["status"] == "pending"
            else "a data owner signs it before anyone acts on it (with --session, "
            "`agentkit chat` records the decision)"
        )
        typer.echo(f"agentkit: approval required: {where}", err=True)
        raise typer.Exit(APPROVAL_REQUIRED)


def print_pending(answer: Answer) -> None:
    """High-stakes advice, marked as pending approval above and below, never as the answer."""
    from dataclasses import replace

    from rich.console import Console

    from agentkit.cli.render import print_answer

    assert answer.approval is not None
    assert answer.withheld is not None
    console = Console()
    rule = "[bold red]PENDING APPROVAL: not to be acted on until a data owner approves it[/]"
    console.print(rule)
    for reason in answer.approval["reasons"]:
        console.print(f"  - {reason}", highlight=False)
    print_answer(replace(answer, answer=answer.withheld), console)
    console.print(rule)
