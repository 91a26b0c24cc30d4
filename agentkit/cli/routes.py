"""``agentkit routes check``: is any route's model LEGACY, near or past its end of life?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from datetime import date

    from agentkit.bedrock.lifecycle import LifecycleTable, ModelLifecycle
    from agentkit.config import AgentkitConfig

routes_app = typer.Typer(
    help="Check the configured routes (model lifecycle).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LifecycleOption = Annotated[
    Path | None,
    typer.Option(
        "--lifecycle",
        help="Lifecycle data to use instead of the shipped agentkit/data/model-lifecycle-v1.json "
        "(pin what your team verified; no live refresh then).",
    ),
]
WarnDaysOption = Annotated[
    int,
    typer.Option(
        "--warn-days", min=0, help="Fail when a route's model reaches end of life within N days."
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Never call ListFoundationModels, even with AWS credentials (use the data file).",
    ),
]


@routes_app.command("check")
@traced("routes check")
def check(
    config: ConfigOption = None,
    lifecycle: LifecycleOption = None,
    warn_days: WarnDaysOption = 30,
    offline: OfflineOption = False,
    json_output: JsonOption = False,
) -> None:
    """Each route's model lifecycle (profile prefixes stripped: us.anthropic.X is anthropic.X).

    Exit 0 when every route's model is usable (LEGACY and unknown models are warnings), 1 when a
    route's model is past its end of life or reaches it within --warn-days, 2 for bad input.
    With AWS credentials and no --lifecycle FILE, ListFoundationModels (modelLifecycle) in each
    route's Region is read over the shipped data.
    """
    import json
    from datetime import UTC, datetime

    from agentkit.bedrock.lifecycle import check_routes
    from agentkit.config import load_config

    cfg = load_config(config, check_residency=False)
    today = datetime.now(UTC).date()
    table = lifecycle_table(cfg, lifecycle, today, live=not offline and lifecycle is None)
    report = check_routes(cfg.models.routes, table, today, warn_days)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(f"lifecycle: {report.origin} (today {report.today})")
        for r in report.routes:
            typer.echo(f"{r.verdict.upper():4}  {r.route}: {r.message}")
    for r in report.warned:
        typer.echo(f"agentkit: warning: {r.route}: {r.message}", err=True)
    if report.failed:
        for r in report.failed:
            typer.echo(f"agentkit: error: {r.route}: {r.message}", err=True)
        raise typer.Exit(1)


def lifecycle_table(
    config: AgentkitConfig, path: Path | None, today: date, *, live: bool
) -> LifecycleTable:
    """The file's table, with ListFoundationModels over it when ``live`` and credentials exist
    (a route on a local emulator endpoint has no control plane to ask)."""
    from agentkit.bedrock.lifecycle import load_table

    table = load_table(path)
    if not live:
        return table
    from agentkit.bedrock.tier import credentials_possible

    endpoints = config.models.endpoints
    regions = [r.region for r in config.models.routes if r.region not in endpoints]
    if not regions or not credentials_possible():
        return table
    from agentkit.bedrock.clients import credentials_found

    if not credentials_found():
        return table
    return table.overlay(_live(regions, today))


def _live(regions: list[str], today: date) -> dict[str, ModelLifecycle]:
    """Lifecycle per model from each Region's ListFoundationModels; a Region that cannot answer
    (no permission, unreachable) is reported and skipped: the file still applies there."""
    from agentkit.bedrock.errors import bedrock_errors
    from agentkit.bedrock.lifecycle import control_plane_client, fetch_live
    from agentkit.errors import AgentkitError

    found: dict[str, ModelLifecycle] = {}
    for region in dict.fromkeys(regions):
        try:
            with bedrock_errors("ListFoundationModels", region):
                found.update(fetch_live(control_plane_client(region), today))
        except AgentkitError as error:
            typer.echo(f"agentkit: warning: lifecycle from {region}: {error}", err=True)
    return found
