"""``agentkit ops``: operator overrides every worker obeys within ``ops.poll_s`` (docs/ops.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig
    from agentkit.ops.store import Change

ops_app = typer.Typer(
    help="Operator overrides: kill switch, route pin, max_tokens clamp, tool re-routes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change, for the audit line (default: the OS user)."),
]


@ops_app.command("show")
def show(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The overrides in force, where they are kept and who changed them last."""
    import json

    from agentkit.config import load_config
    from agentkit.ops.store import open_store, reread_s

    settings = load_config(config, check_residency=False)
    store = open_store(settings)
    try:
        overrides = store.read()
    finally:
        store.close()
    every = reread_s(settings)
    fields = overrides.fields()
    if as_json:
        document = {
            "overrides": fields,
            "set_by": overrides.set_by,
            "set_at": overrides.set_at,
            "where": store.where,
            "poll_s": every,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    typer.echo(f"ops document: {store.where} (workers re-read it every {every:g} s)")
    if not fields:
        typer.echo("no overrides are set")
    for key, value in fields.items():
        typer.echo(f"  {key}={value}")
    if overrides.set_at:
        typer.echo(f"last change: {overrides.set_at} by {overrides.set_by or 'unknown'}")


@ops_app.command("set")
def set_command(
    assignments: Annotated[
        list[str],
        typer.Argument(
            help="KEY=VALUE: kill_switch=on|off, pin=REGION|MODEL|MODEL@REGION, "
            "max_tokens=N, tool.NAME=FALLBACK.",
            show_default=False,
        ),
    ],
    config: ConfigOption = None,
    by: ByOption = None,
) -> None:
    """Set overrides; every worker applies them within ops.poll_s. An audit line is appended."""
    from agentkit.config import load_config
    from agentkit.ops.document import parse_assignment
    from agentkit.ops.store import change

    settings = load_config(config, check_residency=False)
    fields: dict[str, str] = {}
    for text in assignments:
        key, value = parse_assignment(text)
        fields[key] = value
    _check_against(settings, fields)
    _apply(settings, change(fields, by=_who(by)))


@ops_app.command("clear")
def clear(
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="The keys to clear (default: every override).", show_default=False),
    ] = None,
    config: ConfigOption = None,
    by: ByOption = None,
) -> None:
    """Clear the given overrides, or all of them. An audit line is appended."""
    from agentkit.config import load_config
    from agentkit.ops.document import check_key
    from agentkit.ops.store import change

    settings = load_config(config, check_residency=False)
    cleared = [check_key(key.strip()) for key in keys] if keys else None
    _apply(settings, change({}, cleared, by=_who(by)))


def _who(by: str | None) -> str | None:
    from agentkit.ops.document import OpsError

    if by is not None and (not by.strip() or len(by) > 200 or not by.isprintable()):
        raise OpsError("--by: a name of 1-200 printable characters")
    return by.strip() if by else None


def _apply(settings: AgentkitConfig, made: Change) -> None:
    from agentkit.ops.store import open_store, reread_s

    store = open_store(settings)
    try:
        overrides = store.update(made)
    finally:
        store.close()
    now = overrides.summary() or "none"
    appconfig = settings.ops.appconfig if settings.ops.backend == "appconfig" else None
    # the strategy was checked to deploy at once, without bake: the change is live in seconds
    how = f"deployed at once (strategy {appconfig.deployment_strategy}); " if appconfig else ""
    typer.echo(
        f"overrides now: {now} ({store.where}); {how}every worker applies them within "
        f"{reread_s(settings):g} s"
    )


def _check_against(settings: AgentkitConfig, fields: dict[str, str]) -> None:
    """A pin must name a route of agentkit.yaml; a tool re-route two tools with one response
    schema."""
    from agentkit.ops.document import PIN, TOOL_PREFIX, OpsError

    pin = fields.get(PIN)
    routes = settings.models.routes
    if pin is not None and not any(pin in (r.model, r.region, r.name) for r in routes):
        names = ", ".join(sorted({r.region for r in routes}))
        raise OpsError(
            f"pin={pin}: names no route of agentkit.yaml; pin a Region ({names}), a model id "
            "or a route name"
        )
    reroutes = {
        k.removeprefix(TOOL_PREFIX): v for k, v in fields.items() if k.startswith(TOOL_PREFIX)
    }
    if not reroutes:
        return
    from agentkit.paths import data_dir
    from agentkit.tools.contracts import load_contracts

    newest = sorted(load_contracts(data_dir("tools")).values(), key=lambda c: c.major)
    contracts = {c.name: c for c in newest}  # the newest major of each tool
    for tool, fallback in reroutes.items():
        for name in (tool, fallback):
            if name not in contracts:
                known = ", ".join(sorted(contracts))
                raise OpsError(f"tool.{tool}={fallback}: no tool {name}; the tools are {known}")
        if contracts[tool].response_schema != contracts[fallback].response_schema:
            raise OpsError(
                f"tool.{tool}={fallback}: {fallback}'s response schema differs from {tool}'s; "
                "re-route only to a tool with the same response schema"
            )
