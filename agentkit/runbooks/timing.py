"""Time to recover, end to end: detection, the steps' critical path, and the bake before failback.

A plan's clock starts when the impairment starts, not when someone opens the runbook:

- **Detection** is how long the slowest trigger takes to reach ``ALARM``. A trigger's time is its
  CloudWatch alarm's ``period_s x evaluation_periods``, plus, for an alarm on a Route 53 health
  check (``health_check:``), the check's ``request_interval_s x failure_threshold`` before the
  check turns unhealthy. The slowest trigger counts: an impairment that only it sees waits that
  long before the runbook can start.
- **Steps** are the critical path (:func:`agentkit.runbooks.rules.critical_path`).
- **Bake** is ``failback.bake_s``: how long the recovery Region (or the degraded mode) must stay
  green before failing back. Until then the service runs on the recovery path, so a runbook
  whose RTO means "back to full service" counts it; the default is 0 (not counted).

Defaults, for a trigger that does not say: a 60 s period and 3 evaluation periods (agentkit's
choice, the M of N of a typical availability alarm), and for a health check the Route 53
defaults, a 30 s request interval and a failure threshold of 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.runbooks.rules import critical_path

if TYPE_CHECKING:
    from agentkit.runbooks.model import Report, Runbook

DEFAULT_PERIOD_S = 60
DEFAULT_EVALUATION_PERIODS = 3
DEFAULT_REQUEST_INTERVAL_S = 30  # Route 53's standard interval
DEFAULT_FAILURE_THRESHOLD = 3  # Route 53's default


@dataclass(frozen=True)
class TriggerTime:
    """How long one trigger takes to go to ``ALARM`` after the impairment starts."""

    alarm: str
    period_s: int
    evaluation_periods: int
    request_interval_s: int | None  # None: not an alarm on a Route 53 health check
    failure_threshold: int | None
    defaulted: tuple[str, ...]  # the settings the runbook left to the defaults

    @property
    def health_check_s(self) -> int:
        if self.request_interval_s is None or self.failure_threshold is None:
            return 0
        return self.request_interval_s * self.failure_threshold

    @property
    def alarm_s(self) -> int:
        return self.period_s * self.evaluation_periods

    @property
    def seconds(self) -> int:
        return self.health_check_s + self.alarm_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "alarm": self.alarm,
            "period_s": self.period_s,
            "evaluation_periods": self.evaluation_periods,
            "request_interval_s": self.request_interval_s,
            "failure_threshold": self.failure_threshold,
            "health_check_s": self.health_check_s,
            "alarm_s": self.alarm_s,
            "seconds": self.seconds,
            "defaults": list(self.defaulted),
        }


def trigger_time(trigger: dict[str, Any]) -> TriggerTime:
    defaulted = [key for key in ("period_s", "evaluation_periods") if key not in trigger]
    check = trigger.get("health_check")
    interval = threshold = None
    if check is not None:
        defaulted += [k for k in ("request_interval_s", "failure_threshold") if k not in check]
        interval = int(check.get("request_interval_s", DEFAULT_REQUEST_INTERVAL_S))
        threshold = int(check.get("failure_threshold", DEFAULT_FAILURE_THRESHOLD))
    return TriggerTime(
        alarm=str(trigger["alarm"]),
        period_s=int(trigger.get("period_s", DEFAULT_PERIOD_S)),
        evaluation_periods=int(trigger.get("evaluation_periods", DEFAULT_EVALUATION_PERIODS)),
        request_interval_s=interval,
        failure_threshold=threshold,
        defaulted=tuple(defaulted),
    )


@dataclass(frozen=True)
class RecoveryTime:
    """Detection + critical path + bake, against the runbook's RTO budget."""

    runbook_id: str
    triggers: tuple[TriggerTime, ...]
    steps_s: int
    critical_path: tuple[str, ...]
    bake_s: int
    rto_budget_s: int

    @property
    def detecting(self) -> TriggerTime | None:
        """The slowest trigger (the first of equals, in file order)."""
        return max(self.triggers, key=lambda t: t.seconds, default=None)

    @property
    def detection_s(self) -> int:
        slowest = self.detecting
        return slowest.seconds if slowest else 0

    @property
    def total_s(self) -> int:
        return self.detection_s + self.steps_s + self.bake_s

    @property
    def over_budget(self) -> bool:
        return self.total_s > self.rto_budget_s

    def breakdown(self) -> str:
        slowest = self.detecting
        via = f" ({slowest.alarm})" if slowest else ""
        return (
            f"detection {self.detection_s} s{via} + critical path {self.steps_s} s "
            f"({' -> '.join(self.critical_path)}) + bake before failback {self.bake_s} s "
            f"= {self.total_s} s"
        )

    def warning(self) -> str | None:
        if not self.over_budget:
            return None
        return (
            f"{self.runbook_id}: recovery takes up to {self.total_s} s, more than the RTO budget "
            f"of {self.rto_budget_s} s: {self.breakdown()}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "detection_s": self.detection_s,
            "detected_by": self.detecting.alarm if self.detecting else None,
            "triggers": [t.as_dict() for t in self.triggers],
            "steps_s": self.steps_s,
            "critical_path": list(self.critical_path),
            "bake_s": self.bake_s,
            "total_s": self.total_s,
            "rto_budget_s": self.rto_budget_s,
            "over_budget": self.over_budget,
        }


def recovery_time(runbook: Runbook) -> RecoveryTime:
    seconds, path = critical_path(runbook)
    return RecoveryTime(
        runbook_id=runbook.id,
        triggers=tuple(trigger_time(t) for t in runbook.spec["triggers"]),
        steps_s=seconds,
        critical_path=tuple(path),
        bake_s=int(runbook.spec["failback"].get("bake_s", 0)),
        rto_budget_s=int(runbook.spec["rto_budget_s"]),
    )


def check_budget(runbook: Runbook, report: Report) -> None:
    """The RTO budget rule: a warning when detection + critical path + bake exceed it."""
    warning = recovery_time(runbook).warning()
    if warning:
        report.warnings.append(warning)
