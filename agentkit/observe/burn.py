"""Multiwindow, multi-burn-rate alarms for each SLO (:mod:`agentkit.observe.slo` has the recipe
and its source).

Per capability and objective (``errors``: the share of runs that did not answer, ``latency``:
the share of answered runs slower than the threshold), per window pair (fast, slow):

- two metric-math alarms, ``slo-<capability>-<sli>-<speed>-<window>``, one per window, on the
  bad-event ratio over that window (one period of the window's length, one evaluation period);
  the threshold is the burn rate times the error budget (99% over 30 days, fast: 14.4 x 0.01);
- a composite ``slo-<capability>-<sli>-<speed>-burn``: both windows in ALARM (AND).

Then ``slo-<capability>``, any of its window-pair composites, and ``agent-slo-burn``, any
capability's: the one a runbook triggers on. Each alarm's description names the runbooks that
name ``agent-slo-burn``, so every exported alarm names a runbook.

What they watch: agentkit's answer metrics (:mod:`agentkit.telemetry.answers`),
``agentkit.answers`` (a counter) and ``agentkit.answer.duration`` (a histogram, seconds), both
with ``gen_ai.agent.name`` (the capability) and ``agentkit.outcome`` (ok, degraded, paused,
refused, rejected, error). The latency ratio uses CloudWatch's percentile-rank statistic,
``PR(:t)``: the percentage of values at or below ``t`` (CloudWatch User Guide, "CloudWatch
statistics definitions").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.observe import alarms as a
from agentkit.observe.model import NAMESPACE, OUTCOME, Alarm, composite
from agentkit.observe.slo import BURN_WINDOWS, BurnWindow, Slo

if TYPE_CHECKING:
    from collections.abc import Sequence

COMPOSITE = "agent-slo-burn"
ANSWERS = "agentkit.answers"
DURATION = "agentkit.answer.duration"
AGENT = "gen_ai.agent.name"
FAILED = ("degraded", "error")  # spend the success budget (paused, refused, rejected: neither)
ANSWERED = ("ok", "degraded")  # outcomes whose latency counts


def capability_composite(slo: Slo) -> str:
    return f"slo-{slo.capability}"


def span(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def window_alarm(slo: Slo, sli: str, window: BurnWindow, seconds: int) -> str:
    return f"slo-{slo.capability}-{sli}-{window.speed}-{span(seconds)}"


def pair_alarm(slo: Slo, sli: str, window: BurnWindow) -> str:
    return f"slo-{slo.capability}-{sli}-{window.speed}-burn"


def threshold(slo: Slo, budget: float, window: BurnWindow) -> float:
    """The bad-event ratio above which ``window`` burns ``slo``'s budget too fast."""
    return round(window.burn_rate(slo.window_days) * budget, 6)


def slo_alarms(slos: Sequence[Slo], named: a.RunbookAlarm) -> list[Alarm]:
    """Every SLO's window alarms and composites, and ``agent-slo-burn`` (``named``: the
    runbooks that name it)."""
    found: list[Alarm] = []
    for slo in slos:
        pairs = []
        for sli, budget in slo.objectives():
            for window in BURN_WINDOWS:
                limit = threshold(slo, budget, window)
                members = [
                    _window(slo, sli, window, seconds, limit, named)
                    for seconds in (window.long_s, window.short_s)
                ]
                found += members
                pair = pair_alarm(slo, sli, window)
                watches = (
                    f"{slo.capability}: {sli} burning the {slo.window_days}-day budget "
                    f"{window.burn_rate(slo.window_days):g}x ({window.speed} burn) over both "
                    f"{span(window.long_s)} and {span(window.short_s)}"
                )
                found.append(
                    composite(pair, a.describe(named, watches), [m.name for m in members], "AND")
                )
                pairs.append(pair)
        watches = f"{slo.capability}: any SLO burn-rate alarm ({', '.join(pairs)})"
        found.append(composite(capability_composite(slo), a.describe(named, watches), pairs))
    children = [capability_composite(s) for s in slos]
    watches = f"Any capability burning an SLO's error budget: {', '.join(children)}"
    found.append(composite(COMPOSITE, a.describe(named, watches), children))
    return found


def _window(
    slo: Slo, sli: str, window: BurnWindow, seconds: int, limit: float, named: a.RunbookAlarm
) -> Alarm:
    name = window_alarm(slo, sli, window, seconds)
    queries = _errors(slo, seconds) if sli == "errors" else _latency(slo, seconds)
    what = (
        "runs that did not answer (degraded or error)"
        if sli == "errors"
        else f"answers slower than {_ms(slo)} ms"
    )
    watches = (
        f"{slo.capability}: share of {what} over {span(seconds)} above {limit:g}, "
        f"{window.burn_rate(slo.window_days):g}x the budget of a {slo.window_days}-day SLO "
        f"({window.speed} burn)"
    )
    props = {
        "AlarmName": name,
        "AlarmDescription": a.describe(named, watches),
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
        "Metrics": queries,
        "Threshold": limit,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    return Alarm(name, props)


def _ms(slo: Slo) -> str:
    assert slo.latency is not None
    return f"{slo.latency.threshold_ms:g}"


def _stat(query_id: str, metric: str, slo: Slo, outcome: str, stat: str, period: int) -> Any:
    dims = {AGENT: slo.capability, OUTCOME: outcome}
    return {
        "Id": query_id,
        "MetricStat": a.metric(NAMESPACE, metric, dims, stat, period),
        "ReturnData": False,
    }


def _errors(slo: Slo, period: int) -> list[dict[str, Any]]:
    queries = [_stat(o, ANSWERS, slo, o, "Sum", period) for o in ("ok", *FAILED)]
    bad = " + ".join(f"FILL({o}, 0)" for o in FAILED)
    every = " + ".join(f"FILL({o}, 0)" for o in ("ok", *FAILED))
    queries.append(
        {
            "Id": "error_ratio",
            "Expression": f"({bad}) / ({every})",
            "Label": f"{slo.capability} error ratio",
            "ReturnData": True,
        }
    )
    return queries


def _latency(slo: Slo, period: int) -> list[dict[str, Any]]:
    assert slo.latency is not None
    rank = f"PR(:{slo.latency.threshold_s:g})"  # % of answers within the threshold, in seconds
    queries = []
    for outcome in ANSWERED:
        queries.append(_stat(f"within_{outcome}", DURATION, slo, outcome, rank, period))
        queries.append(_stat(f"n_{outcome}", DURATION, slo, outcome, "SampleCount", period))
    within = " + ".join(f"FILL(within_{o}, 100) * FILL(n_{o}, 0)" for o in ANSWERED)
    every = " + ".join(f"FILL(n_{o}, 0)" for o in ANSWERED)
    queries.append(
        {
            "Id": "slow_ratio",
            "Expression": f"1 - ({within}) / 100 / ({every})",
            "Label": f"{slo.capability} share of answers slower than {_ms(slo)} ms",
            "ReturnData": True,
        }
    )
    return queries
