"""``agentkit observe``: alarms, their composite and a cross-Region dashboard, as code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from agentkit.cli.options import ConfigOption
from agentkit.cli.traced import traced

observe_app = typer.Typer(
    help="Alarms and dashboards as code.", no_args_is_help=True, rich_markup_mode=None
)


@observe_app.command("export")
@traced("observe export")
def export(
    output_format: Annotated[
        Literal["cloudformation"],
        typer.Option("--format", help="cloudformation: one template to deploy in every Region."),
    ] = "cloudformation",
    config: ConfigOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the template here (default: stdout).")
    ] = None,
) -> None:
    """Every alarm the runbooks name, the regional-health composite, and one dashboard with
    every Region of agentkit.yaml side by side (see docs/runbooks.md, "Alarms as code")."""
    from agentkit.config import load_config
    from agentkit.fsutil import atomic_write
    from agentkit.observe.cloudformation import build_template, render
    from agentkit.runbooks import load_all

    settings = load_config(config, check_residency=False)
    text = render(build_template(settings, load_all()))
    if out is None:
        typer.echo(text, nl=False)
        return
    atomic_write(out, text)
    typer.echo(f"wrote {out} ({output_format})", err=True)
