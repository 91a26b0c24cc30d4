"""``agentkit eval``: the release gate, promptfoo suites in ``evals/`` run offline.

Exit 0 when every suite passes, 3 when the gate fails (a failing case, a pass rate under the
suite's threshold, a regression against ``--compare``, or a known failure that now passes),
2 for bad input, 1 when promptfoo cannot run. Imports stay inside the command: ``agentkit --help``
must not load boto3 or langgraph.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.evals.runner import Suite
    from agentkit.evals.summary import SuiteSummary

MAX_LISTED = 25


@traced("eval")
def eval_command(
    suites: Annotated[
        list[str] | None,
        typer.Argument(help="Suites to run (default: every offline suite).", show_default=False),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Also run the live suite (needs AWS credentials).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Results directory (default: evals/results).")
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="Baseline summaries (a directory or one file)."),
    ] = None,
    known_failures: Annotated[
        Path | None,
        typer.Option(
            "--allow-known-failures",
            help="File of suite:case-id lines left out of the exit code (must still fail).",
        ),
    ] = None,
    filter_pattern: Annotated[
        str | None, typer.Option("--filter", help="Only cases whose id matches this regex.")
    ] = None,
    update_baselines: Annotated[
        bool, typer.Option("--update-baselines", help="Write the summaries to evals/baselines/.")
    ] = False,
    evals_dir: Annotated[
        Path | None, typer.Option("--evals-dir", help="The evals/ folder (default: ./evals).")
    ] = None,
) -> None:
    """Run the promptfoo release-gate suites and print `N passed, N failed`."""
    from contextlib import ExitStack

    from agentkit.errors import GateFailed
    from agentkit.evals import runner
    from agentkit.evals.summary import read_known_failures, write_summary

    root = runner.find_evals_dir(evals_dir)
    chosen = runner.select_suites(runner.load_suites(root), list(suites or []), live)
    known = read_known_failures(known_failures) if known_failures else set()
    out_root = (out or root / "results").resolve()
    binary = runner.ensure_promptfoo(root)
    base_env = runner.promptfoo_env(root)
    ok = True
    totals = [0, 0, 0]  # passed, failed, of which known
    for suite in chosen:
        if suite.live and not runner.live_credentials():
            typer.echo(
                f"{suite.name}: skipped: no AWS credentials found (set AWS_PROFILE, or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); it needs real Bedrock"
            )
            continue
        with ExitStack() as stack:
            env = {**base_env, **runner.suite_env(suite, root, stack)}
            summary = runner.run_suite(suite, out_root, binary, env, filter_pattern=filter_pattern)
        ok &= _report(suite, summary, known, compare)
        totals[0] += summary.passed
        totals[1] += summary.failed
        totals[2] += len([c for c in summary.failing() if f"{suite.name}:{c}" in known])
        if update_baselines:
            write_summary(summary, root / "baselines" / f"{suite.name}.json")
    typer.echo(f"{totals[0]} passed, {totals[1]} failed")
    if totals[2]:
        typer.echo(f"({totals[2]} of the failures are known failures, not counted by the gate)")
    typer.echo(f"results: {out_root}")
    if not ok:
        raise GateFailed("the release gate failed")


def _report(suite: Suite, summary: SuiteSummary, known: set[str], compare: Path | None) -> bool:
    from agentkit.evals.summary import judge

    verdict = judge(summary, suite.threshold, known)
    typer.echo(
        f"{suite.name}: {summary.passed} passed, {summary.failed} failed"
        f" ({len(verdict.known)} known), pass rate {verdict.pass_rate:.1%}"
        f" (threshold {suite.threshold:.0%})"
    )
    _categories(summary)
    _listed("FAILED", verdict.failures, summary)
    _listed("known failure", verdict.known, summary)
    for case in verdict.stale:
        typer.echo(f"  STALE known failure (passes now; remove it from the list): {case}")
    ok = verdict.ok
    if compare is not None:
        ok &= _compared(suite, summary, compare)
    return ok


def _categories(summary: SuiteSummary) -> None:
    benign = summary.categories.get("benign")
    if benign:
        total = benign["passed"] + benign["failed"]
        typer.echo(
            f"  false positives: {benign['failed']} of {total} benign questions refused"
            f" ({benign['failed'] / total:.1%})"
        )
    attacks = [summary.categories.get(c) for c in ("attack", "indirect", "offtopic")]
    counted = [a for a in attacks if a]
    if counted:
        caught = sum(a["passed"] for a in counted)
        total = sum(a["passed"] + a["failed"] for a in counted)
        typer.echo(f"  adversarial handled: {caught} of {total} ({caught / total:.1%})")


def _listed(label: str, cases: list[str], summary: SuiteSummary) -> None:
    for case in cases[:MAX_LISTED]:
        typer.echo(f"  {label}: {case}: {summary.reasons.get(case, '')}")
    if len(cases) > MAX_LISTED:
        typer.echo(f"  ... and {len(cases) - MAX_LISTED} more {label} cases")


def _compared(suite: Suite, summary: SuiteSummary, compare: Path) -> bool:
    from agentkit.evals.summary import read_baseline, regressions

    baseline = read_baseline(compare, suite.name)
    if baseline is None:
        typer.echo(f"  no baseline for {suite.name} in {compare}")
        return True
    regressed = regressions(summary, baseline)
    for case in regressed:
        typer.echo(f"  REGRESSED (passed in the baseline): {case}")
    typer.echo(f"  {len(regressed)} regressed against {compare}")
    return not regressed
