"""How the DR advisor's answers look in a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

if TYPE_CHECKING:
    from agentkit.agents.dr.agent import Answer


def notes(answer: Answer) -> list[str]:
    """The visible notes: degraded, or answered from a fallback Region."""
    out = []
    if answer.degraded:
        out.append(f"Degraded answer: {answer.degraded_reason}")
    if answer.fell_back and answer.region:
        out.append(f"Answered from a fallback route: {answer.model} in {answer.region}")
    return out


def print_answer(answer: Answer, console: Console | None = None) -> None:
    console = console or Console()
    console.print(Markdown(answer.answer))
    for note in notes(answer):
        console.print(Panel(note, style="yellow", expand=False))
    if answer.region:
        console.print(f"[dim]answered by {answer.model} in {answer.region}[/dim]")
