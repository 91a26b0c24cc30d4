"""``agentkit drill``: failure drills on AWS, generated from agentkit.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from agentkit.cli.options import ConfigOption
from agentkit.cli.traced import traced

drill_app = typer.Typer(
    help="Failure drills on AWS (FIS), from agentkit.yaml.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
DEFAULT_OUT = Path("agentkit-drill")


@drill_app.command("export")
@traced("drill export")
def export(
    output_format: Annotated[
        Literal["fis"],
        typer.Option("--format", help="fis: an AWS FIS experiment and its SSM document."),
    ] = "fis",
    config: ConfigOption = None,
    duration: Annotated[
        str, typer.Option("--duration", help="How long the deny holds: 10m, 90s, 1h30m.")
    ] = "10m",
    out: Annotated[
        Path, typer.Option("--out", help="The folder to write (replaced as a whole).")
    ] = DEFAULT_OUT,
) -> None:
    """Deny the agent's role Bedrock in its primary Region for --duration, under AWS FIS with
    stop conditions on the alarms of agentkit observe export: the SSM document, the deny
    policy, least-privilege roles, the experiment template and a README (docs/drills.md)."""
    from agentkit.config import load_config
    from agentkit.drill.export import build_files
    from agentkit.drill.fis import parse_duration, plan
    from agentkit.fsutil import replace_file_set
    from agentkit.runbooks import load_all

    seconds = parse_duration(duration)
    settings = load_config(config, check_residency=False)
    drill = plan(settings, load_all(), seconds)
    files = build_files(drill)
    replace_file_set(out, files, replaces=files)
    typer.echo(
        f"wrote {out}/ ({output_format}: {len(files)} files): deny {drill.role.name} Bedrock in "
        f"{drill.region} for {duration}; read {out}/README.md",
        err=True,
    )
