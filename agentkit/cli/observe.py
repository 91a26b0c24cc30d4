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
        Literal["cloudformation", "terraform", "adot"],
        typer.Option(
            "--format",
            help="cloudformation: one template to deploy in every Region; terraform: one "
            "*.tf.json with a provider per Region; adot: the ADOT collector's awsemf exporter "
            "settings (YAML) that publish agentkit's metrics with the dimensions the alarms read.",
        ),
    ] = "cloudformation",
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the output here (default: stdout)."),
    ] = None,
) -> None:
    """Every alarm the runbooks name, their composites, the burn-rate alarms of the SLOs, and
    one dashboard with every Region of agentkit.yaml side by side (see docs/runbooks.md,
    "Alarms as code", and docs/telemetry.md, "SLOs and burn-rate alarms"); with --format adot,
    the collector settings that publish the metrics they read (docs/telemetry.md, "The metrics
    the alarms and the dashboard read")."""
    from agentkit.config import load_config
    from agentkit.errors import InputError
    from agentkit.fsutil import atomic_write
    from agentkit.observe import adot, cloudformation, terraform
    from agentkit.observe.build import build_stack
    from agentkit.runbooks import load_all

    if output_format == "terraform" and out is not None and not out.name.endswith(".tf.json"):
        raise InputError(
            f"--out {out}: Terraform reads only *.tf and *.tf.json files; name it "
            f"{out.name.split('.')[0] or 'observe'}.tf.json"
        )
    settings = load_config(config, check_residency=False)
    stack = build_stack(settings, load_all())
    if output_format == "terraform":
        text = terraform.render(terraform.to_terraform(stack))
    elif output_format == "adot":
        text = adot.render(stack)
    else:
        text = cloudformation.render(cloudformation.to_template(stack))
    if out is None:
        typer.echo(text, nl=False)
        return
    atomic_write(out, text)
    typer.echo(f"wrote {out} ({output_format})", err=True)
