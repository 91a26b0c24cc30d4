"""``agentkit gameday``: run your fallback chain against the emulator under a fault plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.gameday import GameDayReport


@traced("gameday")
def gameday(
    faults: Annotated[
        Path | None,
        typer.Option(
            help="Fault plan (YAML or JSON): Regions, and MCP servers under mcp:. "
            "Default: the first route's Region is down."
        ),
    ] = None,
    requests: Annotated[
        int, typer.Option(min=1, max=10_000, help="Requests to send (and calls of each MCP tool).")
    ] = 10,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Exit 0 when every request (and every MCP tool call) was answered, 1 otherwise.

    With mcp_servers: in agentkit.yaml, the MCP fault server stands in for each server (the
    plan's mcp: section names its fault) and each tool of mcp.lock.json is called --requests
    times through the MCP client."""
    from agentkit.config import load_config
    from agentkit.emulator.cli import load_file
    from agentkit.emulator.faults import FaultPlan
    from agentkit.gameday import run_game_day
    from agentkit.tools.mcp_client import MCP_LOCK_NAME

    settings = load_config(config)
    plan = load_file(FaultPlan, faults) if faults else None
    folder = config.parent if config is not None else Path(".")
    report = run_game_day(settings, plan, requests, mcp_lock=folder / MCP_LOCK_NAME)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    if not report.passed:
        raise typer.Exit(1)


def _print(report: GameDayReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"fault plan: {json.dumps(report.plan)}")
    table = Table("#", "answered by", "attempts", "ms")
    for o in report.outcomes:
        answered = f"{o.model} @ {o.region}" if o.error is None else f"[red]{o.error}"
        table.add_row(str(o.number), answered, " -> ".join(o.attempts), f"{o.latency_ms:.1f}")
    console.print(table)
    console.print(f"emulator calls by Region: {report.calls_by_region}")
    console.print(f"breakers: {report.breakers}")
    colour = "green" if report.answered == len(report.outcomes) else "red"
    console.print(f"[{colour}]{report.answered}/{len(report.outcomes)} requests answered")
    if report.mcp is None:
        return
    servers = Table("mcp server", "transport", "fault", "fallback", "breaker")
    for server in report.mcp.servers:
        breaker = server.breaker if server.breaker == "closed" else f"[red]{server.breaker}"
        servers.add_row(
            server.name, server.transport, server.fault or "-", server.fallback or "-", breaker
        )
    console.print(servers)
    tools = Table("tool", "side effect", "answered", "answered by", "errors", "executions")
    for tool in report.mcp.tools:
        tools.add_row(
            f"{tool.tool} ({tool.server})",
            tool.side_effect,
            f"{tool.answered}/{tool.calls}",
            _counts(tool.answered_by),
            _counts(tool.errors),
            _counts(tool.executions),
        )
    console.print(tools)
    mcp = report.mcp
    colour = "green" if mcp.answered == mcp.calls else "red"
    console.print(f"[{colour}]{mcp.answered}/{mcp.calls} MCP tool calls answered")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "-"
