"""``agentkit runbook``: list, show, validate, lock and plan failover runbooks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced
from agentkit.errors import InputError

if TYPE_CHECKING:
    from agentkit.runbooks.arc import ArcTarget

runbook_app = typer.Typer(
    help="Versioned failover runbooks.", no_args_is_help=True, rich_markup_mode=None
)


def _find(runbook_id: str) -> object:
    from agentkit.runbooks import load_all

    for runbook in load_all():
        if runbook.id == runbook_id:
            return runbook
    raise InputError(f"no runbook {runbook_id!r}: see `agentkit runbook list`")


def _find_or_load(ref: str) -> object:
    """A packaged runbook by id, or a runbook file (a path ending in .yaml or .yml)."""
    from agentkit.runbooks import load_runbook

    if ref.endswith((".yaml", ".yml")):
        path = Path(ref)
        if not path.is_file():
            raise InputError(f"{ref}: no such runbook file")
        return load_runbook(path)
    return _find(ref)


@runbook_app.command("list")
def list_runbooks() -> None:
    """Every runbook with its version, scenario and strategies."""
    from rich.console import Console
    from rich.table import Table

    from agentkit.runbooks import load_all

    table = Table("id", "version", "scenario", "strategies", "last tested")
    for rb in load_all():
        table.add_row(
            rb.id,
            rb.version,
            rb.spec["scenario"],
            ", ".join(rb.spec["strategies"]),
            str(rb.data["metadata"]["last_tested"]),
        )
    Console().print(table)


@runbook_app.command("show")
def show(runbook_id: str) -> None:
    """A runbook as JSON."""
    from agentkit.runbooks import Runbook

    runbook = _find(runbook_id)
    assert isinstance(runbook, Runbook)
    typer.echo(json.dumps(runbook.data, indent=2, default=str))


@runbook_app.command("validate")
def validate_cmd(
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID|FILE]",
            help="A runbook file or packaged id (default: every runbook; --live: one).",
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Also check on AWS the IAM and resources the plan relies on."),
    ] = False,
    source: Annotated[str | None, typer.Option("--from", help="Source Region (--live).")] = None,
    target: Annotated[str | None, typer.Option("--to", help="Target Region (--live).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Schema and semantic checks; warnings do not fail. Exit 2 on any error.

    With --live (docs/runbooks.md, "Live validation"): for the plan between --from and --to,
    simulate the IAM actions each step needs for your principal and read the resources it acts
    on. Exit 1 when an action is denied or a resource is missing, 2 for a credential problem."""
    from agentkit.runbooks import load_all, load_runbook, validate

    if live:
        _validate_live(ref, source, target, config, json_output)
        return
    if source or target or json_output:
        raise InputError("--from, --to and --json go with --live")
    runbooks: list[Any]
    if ref and not Path(ref).exists():
        runbooks = [_find_or_load(ref)]
    else:
        runbooks = [load_runbook(Path(ref))] if ref else load_all()
    errors: list[str] = []
    for runbook in runbooks:
        report = validate(runbook)
        errors += report.errors
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
    if errors:
        raise InputError(f"{len(errors)} problem(s): " + "; ".join(errors))
    typer.echo(f"{len(runbooks)} runbook(s) valid")


def _validate_live(
    ref: str | None, source: str | None, target: str | None, config: Path | None, as_json: bool
) -> None:
    from agentkit.config import load_config
    from agentkit.runbooks import Runbook, plan, validate
    from agentkit.runbooks import live as checks
    from agentkit.runbooks.plan import check_regions

    if ref is None or source is None:
        raise InputError("--live needs a runbook (ID or FILE) and --from (and --to to move)")
    runbook = _find_or_load(ref)
    assert isinstance(runbook, Runbook)
    target = check_regions(runbook, source, target)
    report = validate(runbook, today=dt.date.today(), lock=_lock_for(runbook))
    if report.errors:
        raise InputError("; ".join(report.errors))
    routes = load_config(config).models.routes
    session = checks.default_session()
    if session.get_credentials() is None:
        raise InputError("no AWS credentials found: configure AWS credentials or drop --live")
    planned = plan(runbook, source, target)
    findings = checks.validate_live(planned, checks.session_clients(session), routes)
    if as_json:
        body = {
            "runbook": runbook.id,
            "source": source,
            "target": target,
            "ok": not checks.failed(findings),
            "warnings": checks.warnings(findings),
            "findings": [f.to_json() for f in findings],
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        typer.echo(checks.render_table(findings), nl=False)
    if checks.failed(findings):
        raise typer.Exit(1)


@runbook_app.command("lock")
def lock() -> None:
    """Record every runbook's version and content hash in runbooks.lock.json."""
    from agentkit.fsutil import atomic_write
    from agentkit.runbooks.model import (
        LOCK_NAME,
        load_all,
        lock_entries,
        read_lock,
        runbook_dir,
        validate,
    )

    runbooks = load_all()
    current = read_lock(runbook_dir())
    problems = [e for rb in runbooks for e in validate(rb, lock=current).errors]
    if problems:
        raise InputError("; ".join(problems))
    atomic_write(runbook_dir() / LOCK_NAME, json.dumps(lock_entries(runbooks), indent=2) + "\n")
    typer.echo(f"locked {len(runbooks)} runbook(s)")


def _lock_for(runbook: object) -> dict[str, Any]:
    """The lock next to the runbook's file: the packaged lock binds only packaged runbooks."""
    from agentkit.runbooks import Runbook
    from agentkit.runbooks.model import read_lock

    assert isinstance(runbook, Runbook)
    return read_lock(runbook.path.resolve().parent)


def _arc_target(account: str | None, bindings: Path | None) -> ArcTarget:
    from agentkit.runbooks.arc import ArcTarget
    from agentkit.yamlsource import read_yaml

    if account is None:
        raise InputError("--format arc needs --account (the 12-digit account the plan runs in)")
    bound: dict[str, str] = {}
    if bindings is not None:
        data = read_yaml(bindings, InputError).data
        if not isinstance(data, dict):
            raise InputError(f"{bindings}: bindings are a mapping of resource name to ARN or id")
        bound = {str(k): str(v) for k, v in data.items()}
    return ArcTarget(account=account, bindings=bound)


@runbook_app.command("plan")
@traced("runbook plan")
def plan_cmd(
    runbook_id: Annotated[str, typer.Argument(help="A packaged runbook id, or a runbook file.")],
    source: Annotated[str, typer.Option("--from", help="Source Region.")],
    target: Annotated[
        str | None,
        typer.Option("--to", help="Target Region (not for runbooks that act in one Region)."),
    ] = None,
    output: Annotated[Literal["md", "json", "arc"], typer.Option("--format")] = "md",
    account: Annotated[
        str | None, typer.Option(help="Account id for the ARNs of --format arc.")
    ] = None,
    bindings: Annotated[
        Path | None,
        typer.Option(help="YAML map of resource name (or name@region) to ARN, for --format arc."),
    ] = None,
) -> None:
    """Steps in execution order (sequential and parallel groups) for a Region pair.

    Exit 2 for an unknown Region, a pair in two partitions, or one outside the runbook's
    partition. Shows the time to recover (detection + critical path + bake before failback) and
    warns on stderr when it exceeds the RTO budget (a warning: the exit code stays 0)."""
    from agentkit.runbooks import Runbook, plan, validate
    from agentkit.runbooks.arc import arc_export
    from agentkit.runbooks.plan import check_regions, render_json, render_markdown

    runbook = _find_or_load(runbook_id)
    assert isinstance(runbook, Runbook)
    target = check_regions(runbook, source, target)
    report = validate(runbook, today=dt.date.today(), lock=_lock_for(runbook))
    if report.errors:
        raise InputError("; ".join(report.errors))
    planned = plan(runbook, source, target)
    for warning in planned["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    if output == "arc":
        request, notes = arc_export(planned, _arc_target(account, bindings))
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(json.dumps(request, indent=2, sort_keys=True))
        return
    render = {"md": render_markdown, "json": render_json}[output]
    typer.echo(render(planned), nl=False)


@runbook_app.command("rehearse")
@traced("runbook rehearse")
def rehearse_cmd(
    runbook_id: str,
    source: Annotated[str, typer.Option("--from", help="Source Region.")],
    target: Annotated[
        str | None,
        typer.Option("--to", help="Target Region (not for runbooks that act in one Region)."),
    ] = None,
    approve_all: Annotated[
        bool, typer.Option("--approve-all", help="Approve every gate (CI rehearsals).")
    ] = False,
    evidence: Annotated[
        Path | None, typer.Option(help="Write the rehearsal timeline (JSON) here.")
    ] = None,
) -> None:
    """Walk the plan without touching AWS, pausing at each approval gate. Exit 1 if rejected."""
    from agentkit.fsutil import atomic_write
    from agentkit.runbooks import Runbook, plan
    from agentkit.runbooks.plan import check_regions
    from agentkit.runbooks.rehearse import rehearse

    runbook = _find(runbook_id)
    assert isinstance(runbook, Runbook)
    target = check_regions(runbook, source, target)

    def decide(request: dict[str, Any]) -> dict[str, Any]:
        roles = ", ".join(str(r) for r in request.get("roles", []))
        if approve_all:
            typer.echo(f"approval {request['approval']} ({roles}): approved by --approve-all")
            return {"approved": True, "by": "--approve-all"}
        try:
            answer = input(f"approve {request['step']}: {request['title']} ({roles})? [y/N] ")
        except EOFError:
            answer = ""
        return {"approved": answer.strip().lower() in ("y", "yes"), "by": "terminal"}

    record = rehearse(plan(runbook, source, target), decide)
    for entry in record["timeline"]:
        typer.echo(f"{entry['order']:>3}. {entry['status']:<9} {entry['step']}: {entry['title']}")
    if evidence is not None:
        atomic_write(evidence, json.dumps(record, indent=2, sort_keys=True) + "\n")
    if not record["completed"]:
        typer.echo("rehearsal stopped at a rejected approval", err=True)
        raise typer.Exit(1)
