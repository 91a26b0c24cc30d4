"""``agentkit doctor``: check credentials, residency, guardrails and reachability of each route."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced


@traced("doctor")
def doctor(
    config: ConfigOption = None,
    json_output: JsonOption = False,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Call each route (CountTokens).")
    ] = True,
) -> None:
    """Exit 0 when every route is usable, 1 otherwise."""
    from rich.console import Console
    from rich.table import Table

    from agentkit.bedrock.doctor import diagnose
    from agentkit.config import load_config

    report = diagnose(load_config(config, check_residency=False), probe=probe)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2))
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
    if not report.healthy:
        raise typer.Exit(1)
