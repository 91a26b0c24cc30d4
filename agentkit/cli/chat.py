"""``agentkit chat``: talk to the DR advisor in a terminal; sessions survive a crash."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.ask import sessions_path
from agentkit.cli.options import ConfigOption, SessionsOption

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from rich.console import Console

    from agentkit.agents.sessions import SessionStore
    from agentkit.graph import AgentRuntime

HELP = "/new  /sessions  /resume ID  /trace  /quit"


def chat(
    session: Annotated[str | None, typer.Option("--session", help="Resume this session.")] = None,
    config: ConfigOption = None,
    sessions: SessionsOption = None,
) -> None:
    """Chat with the DR advisor. Slash commands: /new /sessions /resume ID /trace /quit."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from rich.console import Console

    from agentkit.agents.dr.agent import build_advisor
    from agentkit.agents.sessions import SessionStore
    from agentkit.config import load_config

    console = Console()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))  # in memory: never blocks
    with SessionStore(sessions_path(sessions)) as store:
        runtime = build_advisor(
            load_config(config), checkpointer=store.checkpointer, tracer_provider=provider
        )
        if runtime.offline_reason:
            console.print(f"[yellow]{runtime.offline_reason}[/yellow]")
        Chat(runtime, store, console, spans).loop(session or new_session())


def new_session() -> str:
    return uuid.uuid4().hex[:8]


class Chat:
    def __init__(
        self,
        runtime: AgentRuntime,
        store: SessionStore,
        console: Console,
        spans: InMemorySpanExporter,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.console = console
        self.spans = spans

    def loop(self, session: str) -> None:
        self.session = session
        self.console.print(f"[bold]agentkit DR advisor[/bold]  {HELP}")
        self.resume(session)
        while True:
            try:
                line = self.console.input("[bold cyan]you> [/bold cyan]").strip()
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return
                continue
            self.turn(line)

    def command(self, line: str) -> bool:
        """Run a slash command; False means quit."""
        name, _, arg = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/new":
            self.session = new_session()
            self.console.print(f"new session {self.session}")
        elif name == "/sessions":
            for sid in self.store.sessions():
                self.console.print(("* " if sid == self.session else "  ") + sid)
        elif name == "/resume" and arg.strip():
            self.resume(arg.strip())
        elif name == "/trace":
            self.trace()
        else:
            self.console.print(f"[yellow]unknown command {line!r}[/yellow]  {HELP}")
        return True

    def resume(self, session: str) -> None:
        from agentkit.agents.dr.agent import history

        self.session = session
        turns = history(self.runtime, session)
        self.console.print(f"[dim]session {session}: {len(turns)} earlier turn(s)[/dim]")
        for turn in turns:
            self.console.print(f"[bold cyan]you>[/bold cyan] {turn['question']}")
            self.console.print(turn["answer"])

    def turn(self, question: str) -> None:
        from rich.markdown import Markdown

        from agentkit.agents.dr.agent import ask
        from agentkit.cli.render import notes

        self.spans.clear()
        streamed: list[str] = []

        def show(delta: str) -> None:
            streamed.append(delta)
            self.console.print(delta, end="", markup=False, highlight=False)

        answer = ask(self.runtime, question, self.session, on_text=show)
        if streamed:
            self.console.print()
        if "".join(streamed).strip() != answer.answer.strip():
            self.console.print(Markdown(answer.answer))
        for note in notes(answer):
            self.console.print(f"[yellow]note:[/yellow] {note}")

    def trace(self) -> None:
        from rich.tree import Tree

        spans = sorted(self.spans.get_finished_spans(), key=lambda s: s.start_time or 0)
        if not spans:
            self.console.print("[dim]no trace yet[/dim]")
            return
        tree = Tree("last turn")
        for span in spans:
            duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            node = tree.add(f"{span.name}  [dim]{duration:.1f} ms[/dim]")
            for event in span.events:
                node.add(f"[yellow]{event.name}[/yellow] {dict(event.attributes or {})}")
        self.console.print(tree)
