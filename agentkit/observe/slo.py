"""SLOs per capability (``slos:`` in agentkit.yaml) and the burn rates that alarm on them.

An SLO names a capability, an agent as agentkit's answer metrics label it (``gen_ai.agent.name``
on ``agentkit.answers`` and ``agentkit.answer.duration``: ``dr-advisor``), and one or two
objectives over a window of ``window_days``: a success rate (the share of runs that answer, not
degraded) and a latency (the share of answered runs faster than ``threshold_ms``, written as a
percentile). Each objective leaves an error budget, ``1 - objective``; a burn rate is how many
times faster than "exactly the budget over the window" the budget is being spent.

The alarms follow the multiwindow, multi-burn-rate recipe of Google's SRE workbook, chapter
"Alerting on SLOs" (https://sre.google/workbook/alerting-on-slos/, recommended parameters):
page when 2% of the budget is spent in one hour (long window 1 h, short window 5 min) or 5% in
six hours (long 6 h, short 30 min). The burn rate is ``budget spent x window / long window``:
with the workbook's 30-day window, 14.4 and 6. The workbook's third tier (10% in three days,
a ticket) is left out: a CloudWatch alarm looks back at most one day (``Period x
EvaluationPeriods``, PutMetricAlarm's limit).

This module is the configuration only (it sits with the other sections of agentkit.yaml,
below everything else); :mod:`agentkit.observe.model` turns it into alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

HOUR_S = 3600
DAY_S = 86_400


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LatencyObjective(_Frozen):
    """``percentile`` % of calls finish within ``threshold_ms``."""

    percentile: float = Field(default=99.0, gt=0, lt=100)
    threshold_ms: float = Field(gt=0)

    @property
    def budget(self) -> float:
        return 1 - self.percentile / 100

    @property
    def threshold_s(self) -> float:
        return self.threshold_ms / 1000


class SuccessObjective(_Frozen):
    """``objective`` of calls answer (0.99: 99%)."""

    objective: float = Field(gt=0, lt=1)

    @property
    def budget(self) -> float:
        return 1 - self.objective


@dataclass(frozen=True)
class BurnWindow:
    """One window pair of the recipe: both windows above the burn rate means ALARM."""

    speed: str  # fast | slow
    long_s: int
    short_s: int
    budget_spent: float  # the share of the budget spent over the long window

    def burn_rate(self, window_days: int) -> float:
        return round(self.budget_spent * window_days * DAY_S / self.long_s, 6)


# The SRE workbook's page tiers (see the module docstring).
BURN_WINDOWS = (
    BurnWindow("fast", long_s=HOUR_S, short_s=5 * 60, budget_spent=0.02),
    BurnWindow("slow", long_s=6 * HOUR_S, short_s=30 * 60, budget_spent=0.05),
)


class Slo(_Frozen):
    capability: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    success_rate: SuccessObjective | None = None
    latency: LatencyObjective | None = None
    window_days: int = Field(default=30, ge=1, le=90)

    @model_validator(mode="after")
    def _something_to_watch(self) -> Slo:
        if self.success_rate is None and self.latency is None:
            raise ValueError("give success_rate, latency or both")
        for what, budget in self.objectives():
            for window in BURN_WINDOWS:
                rate = window.burn_rate(self.window_days)
                if rate * budget >= 1:
                    raise ValueError(
                        f"{what}: a budget of {budget:.4g} burnt {rate:g}x ({window.speed} burn) "
                        f"is {rate * budget:.3g} of the runs, no fewer than all of them, so the "
                        "alarm could never fire; raise the objective or shorten window_days"
                    )
        return self

    def objectives(self) -> list[tuple[str, float]]:
        """(``errors`` | ``latency``, its error budget) for each objective it sets."""
        found = []
        if self.success_rate is not None:
            found.append(("errors", self.success_rate.budget))
        if self.latency is not None:
            found.append(("latency", self.latency.budget))
        return found


def _one_per_capability(slos: tuple[Slo, ...]) -> tuple[Slo, ...]:
    if not slos:
        raise ValueError("give at least one SLO, or leave slos: out for agentkit's defaults")
    seen: set[str] = set()
    for slo in slos:
        if slo.capability in seen:
            raise ValueError(f"capability {slo.capability!r} has two SLOs; keep one")
        seen.add(slo.capability)
    return slos


Slos = Annotated[tuple[Slo, ...], AfterValidator(_one_per_capability)]

DEFAULT_CAPABILITIES = ("dr-advisor",)  # the agents agentkit ships (agents/dr/workflow.py)
DEFAULT_SUCCESS = 0.99  # the answer success objective agent-answer-success-rate alarms on


def default_slos(deadline_s: float) -> tuple[Slo, ...]:
    """Without an ``slos:`` section, agentkit's assumption (docs/telemetry.md): for each agent it
    ships, 99% of runs answer and 99% of answers come within half the run deadline
    (``limits.deadline_s``), over the SRE workbook's 30-day window."""
    return tuple(
        Slo(
            capability=name,
            success_rate=SuccessObjective(objective=DEFAULT_SUCCESS),
            latency=LatencyObjective(percentile=99, threshold_ms=deadline_s * 1000 / 2),
        )
        for name in DEFAULT_CAPABILITIES
    )
