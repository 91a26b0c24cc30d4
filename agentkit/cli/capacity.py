"""``agentkit capacity``: requests and tokens per minute per Region from the agent configuration."""

from __future__ import annotations

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced


@traced("capacity")
def capacity(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Seed and corrected capacity figures, headroom per Region against quotas, TPD and N+1.

    Reads the capacity: section of agentkit.yaml (see docs/capacity.md).
    """
    import json

    import typer

    from agentkit.capacity.load import load_capacity
    from agentkit.capacity.model import compute_capacity
    from agentkit.capacity.report import render, to_json

    report = compute_capacity(load_capacity(config))
    if json_output:
        typer.echo(json.dumps(to_json(report), indent=2))
        return
    from rich.console import Console

    render(report, Console())
