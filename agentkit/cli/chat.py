"""``agentkit chat``: talk to the DR advisor in a terminal; sessions survive a crash.

Each turn is one trace, rooted in an ``agentkit chat`` span carrying the session as
``gen_ai.conversation.id``; ``/trace`` shows the last one, and ``telemetry:`` in agentkit.yaml
exports them like any command's.
"""

from __future__ import annotations

import getpass
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.ask import sessions_path
from agentkit.cli.options import ConfigOption, SessionsOption

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Tracer
    from rich.console import Console

    from agentkit.agents.sessions import Sessions
    from agentkit.graph import AgentRuntime

HELP = "/new  /sessions  /resume ID  /trace  /quit"


def chat(
    session: Annotated[str | None, typer.Option("--session", help="Resume this session.")] = None,
    config: ConfigOption = None,
    sessions: SessionsOption = None,
    approval_timeout: Annotated[
        float,
        typer.Option(
            "--approval-timeout",
            min=0,
            help="Seconds to wait for an approval of high-stakes advice; then it is declined.",
        ),
    ] = 120.0,
) -> None:
    """Chat with the DR advisor. Slash commands: /new /sessions /resume ID /trace /quit."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from rich.console import Console

    from agentkit.agents.dr.agent import build_advisor
    from agentkit.agents.sessions import open_sessions
    from agentkit.cli.traced import TRACER_NAME
    from agentkit.config import load_config
    from agentkit.ops import obeyed
    from agentkit.telemetry.setup import start

    settings = load_config(config)
    console = Console()
    spans = InMemorySpanExporter()  # for /trace; in memory, so a simple processor never blocks
    telemetry = start(settings.telemetry, span_processors=[SimpleSpanProcessor(spans)])
    try:
        store = open_sessions(settings.sessions, sessions_path(sessions))  # sqlite or postgres
        with telemetry.scope(), store, obeyed(settings):
            runtime = build_advisor(settings, checkpointer=store.checkpointer)
            if runtime.offline_reason:
                console.print(f"[yellow]{runtime.offline_reason}[/yellow]")
            tracer = telemetry.tracer_provider.get_tracer(TRACER_NAME)
            Chat(runtime, store, console, spans, tracer, approval_timeout).loop(
                session or new_session()
            )
    finally:
        telemetry.shutdown()


def new_session() -> str:
    return uuid.uuid4().hex[:8]


class Chat:
    def __init__(
        self,
        runtime: AgentRuntime,
        store: Sessions,
        console: Console,
        spans: InMemorySpanExporter,
        tracer: Tracer | None = None,
        approval_timeout_s: float = 120.0,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.console = console
        self.spans = spans
        self.tracer = tracer
        self.approval_timeout_s = approval_timeout_s
        self.user = getpass.getuser()
        self._reader: _LineReader | None = None

    def loop(self, session: str) -> None:
        self.session = session
        self.console.print(f"[bold]agentkit DR advisor[/bold]  {HELP}")
        self.resume(session)
        while True:
            try:
                read = self.read_within("[bold cyan]you> [/bold cyan]")
            except KeyboardInterrupt:
                read = None
            if read is None:  # end of input
                self.console.print()
                return
            line = read.strip()
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
        from agentkit.agents.dr.agent import history, pending_approval

        self.session = session
        turns = history(self.runtime, session)
        self.console.print(f"[dim]session {session}: {len(turns)} earlier turn(s)[/dim]")
        for turn in turns:
            self.console.print(f"[bold cyan]you>[/bold cyan] {turn['question']}")
            self.console.print(turn["answer"])
        reasons = pending_approval(self.runtime, session)
        if reasons is not None:  # `agentkit ask --session` left this turn waiting
            self.approve(reasons)

    def turn(self, question: str) -> None:
        """One turn, one trace: an ``agentkit chat`` root span for the session's turn."""
        self.spans.clear()
        if self.tracer is None:
            self._turn(question)
            return
        from agentkit.cli.traced import command_span
        from agentkit.telemetry import semconv as sc

        with command_span(self.tracer, "chat", **{sc.CONVERSATION_ID: self.session}):
            self._turn(question)

    def _turn(self, question: str) -> None:
        from rich.markdown import Markdown

        from agentkit.agents.dr.agent import ask
        from agentkit.cli.options import check_question
        from agentkit.cli.render import notes
        from agentkit.errors import InputError

        try:
            check_question(question)  # the same limits as `agentkit ask`; the chat goes on
        except InputError as error:
            self.console.print(f"[red]error:[/red] {error}", highlight=False)
            return

        streamed: list[str] = []

        def show(delta: str) -> None:
            streamed.append(delta)
            self.console.print(delta, end="", markup=False, highlight=False)

        answer = ask(self.runtime, question, self.session, on_text=show)
        if streamed:
            self.console.print()
        waits = answer.approval is not None and answer.approval["status"] == "pending"
        if not waits and "".join(streamed).strip() != answer.answer.strip():
            self.console.print(Markdown(answer.answer))
        for note in notes(answer):
            self.console.print(f"[yellow]note:[/yellow] {note}")
        if waits:  # nothing of the advice was streamed or printed: it waits for the decision
            assert answer.approval is not None
            self.approve(answer.approval["reasons"])

    def approve(self, reasons: list[str]) -> None:
        """The turn paused on high-stakes advice, withheld: say what needs approval and why,
        ask for a decision, then show the advice (approved) or the safe option in its place
        (declined; no answer within ``approval_timeout_s``, or end of input)."""
        from rich.markdown import Markdown

        from agentkit.agents.dr.agent import TIMED_OUT, decide

        self.console.print("[bold red]approval required[/bold red] before this advice is shown:")
        for reason in reasons:
            self.console.print(f"  - {reason}", highlight=False)
        prompt = f"approve? [y/N] (no answer in {self.approval_timeout_s:g} s: declined) "
        reply = self.read_within(prompt, self.approval_timeout_s)
        approved = reply is not None and reply.strip().lower() in ("y", "yes")
        by, note = self.user, None
        if reply is None and not self._input_ended():
            by, note = TIMED_OUT, f"no answer within {self.approval_timeout_s:g} s"
        answer = decide(self.runtime, self.session, approved, by=by, note=note)
        if approved:
            self.console.print(f"[green]approved[/green] by {by}; recorded in the session")
            self.console.print(Markdown(answer.answer))
        else:
            why = f" ({note})" if note else ""
            self.console.print(f"[yellow]declined[/yellow]{why}; recorded in the session")
            self.console.print(answer.answer, highlight=False)

    def _input_ended(self) -> bool:
        """True when the last prompt ended with the end of input, not a timeout."""
        reader = self._reader
        return reader is not None and reader.done.is_set() and reader.line is None

    def read_within(self, prompt: str, timeout_s: float | None = None) -> str | None:
        """A line from the user, or None when input ended or none came within ``timeout_s``.

        One reader at a time: a prompt that timed out keeps its reader, and the line typed late
        is the next one read (never lost to a stray thread)."""
        reader = self._reader
        if reader is None or (reader.done.is_set() and reader.consumed):
            reader = self._reader = _LineReader(self.console, prompt)
        if not reader.done.wait(timeout_s):
            return None
        reader.consumed = True
        return reader.line

    def trace(self) -> None:
        from rich.tree import Tree

        spans = sorted(self.spans.get_finished_spans(), key=lambda s: s.start_time or 0)
        if not spans:
            self.console.print("[dim]no trace yet[/dim]")
            return
        tree = Tree("last turn")
        nodes: dict[int, Tree] = {}
        for span in spans:  # by start time: a parent is placed before its children
            parent_id = span.parent.span_id if span.parent is not None else None
            parent = nodes.get(parent_id, tree) if parent_id is not None else tree
            duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            node = parent.add(f"{span.name}  [dim]{duration:.1f} ms[/dim]")
            if span.context is not None:
                nodes[span.context.span_id] = node
            for event in span.events:
                node.add(f"[yellow]{event.name}[/yellow] {dict(event.attributes or {})}")
        self.console.print(tree)


class _LineReader:
    """Reads one line in a daemon thread, so a prompt can time out without losing the line."""

    def __init__(self, console: Console, prompt: str) -> None:
        import threading

        self.line: str | None = None
        self.consumed = False
        self.done = threading.Event()
        self._console = console
        threading.Thread(target=self._read, args=(prompt,), daemon=True).start()

    def _read(self, prompt: str) -> None:
        try:
            self.line = self._console.input(prompt)
        except (EOFError, KeyboardInterrupt):
            self.line = None
        finally:
            self.done.set()
