"""``agentkit canary``: one cheap request through each route on its own, so a dead fallback is
found before the incident that needs it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import CanaryStateOption, ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.bedrock.canary import CanaryRun


@traced("canary")
def canary(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="One run, then exit (the default).")] = False,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Run every interval (15m, 90s, 1h; +/- 10 % jitter) until interrupted; "
            "--json then prints one line per run.",
        ),
    ] = None,
    runs: Annotated[
        int | None,
        typer.Option("--runs", min=1, help="With --every: stop after N runs."),
    ] = None,
    json_output: JsonOption = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON report of each run here.")
    ] = None,
    state: CanaryStateOption = None,
) -> None:
    """Send the cheapest valid request (a fixed prompt, maxTokens 1) through each configured
    route, bypassing fallback, with one attempt and no retry.

    Prints a cost bound before it starts. Exit 0 when every route answered; 1 when a route is
    dead (each is named on stderr with its error class and fix); 2 for bad input.
    """
    from agentkit.bedrock.canary import Canary, default_state_path, parse_interval
    from agentkit.config import load_config
    from agentkit.errors import InputError
    from agentkit.paths import agentkit_home

    if once and every is not None:
        raise InputError("--once and --every: choose one (--every N keeps running)")
    if runs is not None and every is None:
        raise InputError("--runs needs --every (a single run is --once)")
    interval = parse_interval(every) if every is not None else None
    cfg = load_config(config)
    home = agentkit_home()
    runner = Canary(cfg, state_path=state or default_state_path(home))
    typer.echo(runner.cost().describe(), err=True)
    last = None
    if interval is None:
        last = runner.run_once()
        _report(last, json_output, out)
    else:
        for run in runner.run_every(interval, runs=runs):
            _report(run, json_output, out, lines=True)
            last = run
    if last is not None and last.dead:
        for result in last.dead:
            typer.echo(f"agentkit: dead route: {result.describe()}", err=True)
        names = ", ".join(r.route for r in last.dead)
        typer.echo(
            f"agentkit: error: canary: {len(last.dead)} of {len(last.results)} route(s) dead: "
            f"{names}",
            err=True,
        )
        raise typer.Exit(1)


def _report(run: CanaryRun, json_output: bool, out: Path | None, *, lines: bool = False) -> None:
    """Text lines, or the JSON report (one compact line per run with --every: JSON Lines)."""
    import json

    doc = run.to_json()
    if out is not None:
        from agentkit.fsutil import atomic_write

        atomic_write(out, json.dumps(doc, indent=2) + "\n")
    if json_output:
        typer.echo(json.dumps(doc) if lines else json.dumps(doc, indent=2))
        return
    for result in run.results:
        last = result.last_success or "never"
        typer.echo(f"{'ok  ' if result.ok else 'DEAD'}  {result.describe()}  (last success {last})")
