"""``agentkit doctor``: check credentials, residency, guardrails and reachability of each route,
then each tool contract and MCP server (agentkit.tools.doctor)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig
    from agentkit.tools.doctor import ToolsReport


@traced("doctor")
def doctor(
    config: ConfigOption = None,
    json_output: JsonOption = False,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Call each route (CountTokens).")
    ] = True,
) -> None:
    """Exit 0 when every route, tool and MCP server is usable, 1 otherwise."""
    from rich.console import Console
    from rich.table import Table

    from agentkit.bedrock.doctor import diagnose
    from agentkit.config import load_config

    settings = load_config(config, check_residency=False)
    report = diagnose(settings, probe=probe)
    tools = _tools(settings, config)
    healthy = report.healthy and tools.healthy
    if json_output:
        typer.echo(
            json.dumps({**report.to_json(), "healthy": healthy, "tools": tools.to_json()}, indent=2)
        )
    else:
        console = Console()
        console.print(f"credentials: {report.credentials}")
        table = Table(
            "route",
            "endpoint",
            "residency",
            "guardrail",
            "probe",
            "admission",
            "breaker",
            "lifecycle",
        )
        for r in report.routes:
            mark = "[green]" if r.usable else "[red]"
            table.add_row(
                f"{mark}{r.route}",
                r.endpoint,
                r.residency,
                r.guardrail,
                r.probe,
                r.admission,
                r.breaker,
                r.lifecycle,
            )
        console.print(table)
        console.print(
            "[green]all routes usable" if report.healthy else "[red]some routes are unusable"
        )
        _print_tools(tools)
    if not healthy:
        raise typer.Exit(1)


def _tools(settings: AgentkitConfig, config_path: Path | None) -> ToolsReport:
    """The packaged contracts with the implementations agentkit registers, and the MCP servers
    of agentkit.yaml with mcp.lock.json beside it."""
    from agentkit.agents.tools import BUILTIN, FROM_KNOWLEDGE
    from agentkit.paths import data_dir
    from agentkit.tools.doctor import diagnose_tools
    from agentkit.tools.mcp_client import MCP_LOCK_NAME

    folder = config_path.parent if config_path is not None else Path(".")
    implemented = {*BUILTIN, *FROM_KNOWLEDGE}
    return diagnose_tools(
        data_dir("tools"), implemented, settings.mcp_servers, folder / MCP_LOCK_NAME
    )


def _print_tools(tools: ToolsReport) -> None:
    typer.echo("tools:")
    for check in tools.checks:
        typer.echo(f"  {check.line()}")
    if not tools.mcp_servers:
        typer.echo("  mcp servers: none configured (mcp_servers in agentkit.yaml)")
    typer.echo("all tools usable" if tools.healthy else "some tools are unusable")
