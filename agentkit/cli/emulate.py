"""``agentkit emulate``: serve the local Bedrock Runtime emulator until SIGINT or SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def emulate(
    regions: Annotated[
        str, typer.Option(help="Comma-separated Regions; each gets its own port.")
    ] = "us-east-1,us-west-2",
    faults: Annotated[
        Path | None, typer.Option(help="Fault plan (YAML or JSON) to start with.")
    ] = None,
    scripts: Annotated[
        Path | None, typer.Option(help="Scripted responses (YAML), matched per model.")
    ] = None,
    guardrails: Annotated[
        Path | None, typer.Option(help="Guardrail declarations per Region (YAML).")
    ] = None,
    knowledge: Annotated[
        Path | None,
        typer.Option(help="Knowledge Base documents per Region (YAML) for Retrieve."),
    ] = None,
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(help="Control port; Regions take the following ports. 0 picks free ports."),
    ] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the endpoints as one JSON line on start.")
    ] = False,
) -> None:
    from agentkit.emulator.cli import serve

    serve(
        regions=regions,
        faults=faults,
        scripts=scripts,
        guardrails=guardrails,
        knowledge=knowledge,
        host=host,
        port=port,
        json_output=json_output,
    )
