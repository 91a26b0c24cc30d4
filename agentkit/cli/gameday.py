"""``agentkit gameday``: run your fallback chain against the emulator under a fault plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced


@traced("gameday")
def gameday(
    faults: Annotated[
        Path | None,
        typer.Option(help="Fault plan (YAML or JSON). Default: the first route's Region is down."),
    ] = None,
    requests: Annotated[int, typer.Option(min=1, max=10_000, help="Requests to send.")] = 10,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Exit 0 when every request was answered, 1 otherwise."""
    from rich.console import Console
    from rich.table import Table

    from agentkit.config import load_config
    from agentkit.emulator.cli import load_file
    from agentkit.emulator.faults import FaultPlan
    from agentkit.gameday import run_game_day

    settings = load_config(config)
    plan = load_file(FaultPlan, faults) if faults else None
    report = run_game_day(settings, plan, requests)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
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
    if report.answered != len(report.outcomes):
        raise typer.Exit(1)
