"""The root ``agentkit`` command, and the one place that maps errors to exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from agentkit._version import __version__
from agentkit.cli.ask import ask
from agentkit.cli.canary import canary
from agentkit.cli.capacity import capacity
from agentkit.cli.chat import chat
from agentkit.cli.doctor import doctor
from agentkit.cli.drill import drill_app
from agentkit.cli.emulate import emulate
from agentkit.cli.errors import DebugState, report_and_exit
from agentkit.cli.eval import eval_command
from agentkit.cli.fmea import fmea
from agentkit.cli.gameday import gameday
from agentkit.cli.health import health
from agentkit.cli.mcp import mcp_app
from agentkit.cli.observe import observe_app
from agentkit.cli.ops import ops_app
from agentkit.cli.routes import routes_app
from agentkit.cli.runbook import runbook_app
from agentkit.cli.serve import serve
from agentkit.cli.tools import tools_app

app = typer.Typer(
    name="agentkit",
    help="Resilience-aware agents for Amazon Bedrock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich costs more than the rest of --help
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show the Python traceback of an error (or AGENTKIT_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Resilience-aware agents for Amazon Bedrock."""
    if debug:
        DEBUG.enabled = True


app.command(help="Run the local Bedrock Runtime emulator with fault injection.")(emulate)
app.command(help="Requests and tokens per minute per Region from agent configuration.")(capacity)
app.command(help="Check credentials, residency, guardrails and reachability of each route.")(doctor)
app.command(help="Game day: your fallback chain against the local emulator under a fault plan.")(
    gameday
)
app.add_typer(tools_app, name="tools")
app.add_typer(runbook_app, name="runbook")
app.add_typer(routes_app, name="routes")
app.add_typer(mcp_app, name="mcp")
app.add_typer(observe_app, name="observe")
app.add_typer(drill_app, name="drill")
app.add_typer(ops_app, name="ops")
app.command(help="Deep health: can the model tier answer from here? Exit 1 when no route does.")(
    health
)
app.command()(canary)
app.command(help="FMEA worksheet, reports and a CI gate from an architecture file.")(fmea)
app.command(help="Ask the DR advisor one question.")(ask)
app.command(help="Chat with the DR advisor (sessions persist).")(chat)
app.command(help="Serve the DR advisor over HTTP (the AgentCore Runtime contract).")(serve)
app.command("eval", help="Release gate: run the promptfoo suites in evals/ offline.")(eval_command)


DEBUG = DebugState()


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: every failure is one line on stderr, never a traceback.

    Exit 2 for bad input, 1 for a runtime failure, 3 for a failed gate; ``--debug`` (or
    ``AGENTKIT_DEBUG=1``) adds the traceback.
    """
    DEBUG.enabled = DebugState.from_environment()
    try:
        app(args=argv, prog_name="agentkit")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as exc:
        report_and_exit(exc, debug=DEBUG.enabled)
    sys.exit(0)
