"""``agentkit fmea``: a scored FMEA worksheet and a CI gate from an architecture file."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from agentkit.cli.options import ConfigOption
from agentkit.cli.traced import traced


@traced("fmea")
def fmea(
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports.")],
    architecture: Annotated[
        Path | None,
        typer.Argument(help="Architecture YAML (agentkit/architecture/v1 or v2)."),
    ] = None,
    from_terraform: Annotated[
        Path | None,
        typer.Option(
            "--from-terraform",
            help="Build the architecture from a plan's JSON (terraform show -json PLAN).",
        ),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: md,json,html,sarif,junit.")
    ] = "md,json,html,sarif,junit",
    fail_on: Annotated[Literal["H", "M"], typer.Option("--fail-on", help="Gate threshold.")] = "H",
    baseline: Annotated[
        Path | None, typer.Option(help="An earlier JSON report: only new or worse items fail.")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Your own catalog, merged over agentkit's.")
    ] = None,
    catalog_version: Annotated[
        int, typer.Option("--catalog-version", help="agentkit's catalogue: 2 (default) or 1.")
    ] = 2,
    no_model: Annotated[
        bool,
        typer.Option("--no-model", help="Skip the model's proposals of extra failure modes."),
    ] = False,
    config: ConfigOption = None,
    gate_on_proposed: Annotated[
        bool, typer.Option("--gate-on-proposed", help="Let model-proposed items fail the gate.")
    ] = False,
) -> None:
    """Exit 0 when the gate passes, 3 when it fails, 2 for bad input."""
    from agentkit.errors import GateFailed
    from agentkit.fmea.render import EXTENSIONS
    from agentkit.fmea.run import analyse
    from agentkit.fsutil import replace_file_set

    model, offline = None, None
    if not no_model:
        from agentkit.bedrock.tier import model_tier
        from agentkit.config import load_config

        model, offline = model_tier(load_config(config))
    with _spinner(f"scoring {architecture or from_terraform} ..."):
        outcome = analyse(
            architecture,
            terraform_plan=from_terraform,
            catalog_path=catalog,
            catalog_version=catalog_version,
            fail_on=fail_on,
            baseline_path=baseline,
            gate_on_proposed=gate_on_proposed,
            model=model,
            formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        )
    replace_file_set(out, outcome.files, replaces=EXTENSIONS.values())
    if offline:
        typer.echo("model enrichment skipped: no model tier (no AWS credentials)", err=True)
    unknown = (outcome.report.get("terraform") or {}).get("unknown_resources") or []
    if unknown:
        names = ", ".join(u["type"] for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        typer.echo(f"{len(unknown)} Terraform resource(s) not modelled: {names}", err=True)
    ap = outcome.report["summary"]["action_priority"]
    typer.echo(
        f"{outcome.report['summary']['rows']} failure modes: {ap['H']} H, {ap['M']} M, "
        f"{ap['L']} L; wrote {', '.join(sorted(outcome.files))} to {out}"
    )
    if outcome.failing:
        raise GateFailed(f"FMEA gate failed: {outcome.failing} item(s) at or above {fail_on}")


def _spinner(text: str) -> contextlib.AbstractContextManager[Any]:
    """A spinner on a terminal; nothing (and no import of rich) otherwise."""
    if not sys.stderr.isatty():
        return _quiet()
    from rich.console import Console

    return Console(stderr=True).status(text, spinner="dots")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    yield
