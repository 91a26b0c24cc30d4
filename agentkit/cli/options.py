"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="agentkit.yaml (default: ./agentkit.yaml)")
]
SessionsOption = Annotated[
    Path | None,
    typer.Option("--sessions", help="Session database (default: $AGENTKIT_HOME/sessions.sqlite)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
CanaryStateOption = Annotated[
    Path | None,
    typer.Option("--state", help="Last success per route (default: $AGENTKIT_HOME/canary.json)."),
]

MAX_QUESTION_CHARS = 20_000  # a question, or a pasted log with it; more is refused before work


def check_question(text: str) -> str:
    """A question within the limits: some text, no NUL byte, at most MAX_QUESTION_CHARS."""
    from agentkit.errors import InputError

    if "\x00" in text:
        raise InputError("question: contains a NUL byte")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"question: {len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    if not text.strip():
        raise InputError("question: empty; ask something, e.g. agentkit ask 'RTO 15 min ...'")
    return text


QuestionArgument = Annotated[
    str, typer.Argument(help="Your question, in plain words.", callback=check_question)
]
