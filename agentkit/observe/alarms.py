"""The alarms the runbooks name, and what each one watches.

Every alarm a runbook names (a trigger, or one of its ``health_alarms``) is exported, and only
those: :func:`runbook_alarms` reads them from the runbooks. Each alarm's timing is what the
runbook's trigger declares (``period_s``, ``evaluation_periods``), else the defaults `runbook
plan` assumes when it counts detection time, so a plan's detection time is the exported
alarm's. What an alarm watches:

- **agentkit's own metrics** (OpenTelemetry names, in the namespace the team's OTLP pipeline
  writes to, the ``MetricsNamespace`` parameter): answer success rate and p99 latency of the
  gateway, model calls a minute (``AGENT``); and the events agentkit records at run time
  (:mod:`agentkit.observe.observed`): canary failures, degraded answers, guardrail events,
  Knowledge Base errors, tool loops, tool and model-route breakers.
- **Bedrock's CloudWatch metrics** as AWS names them (``AWS/Bedrock``, one series per model the
  configuration's routes call, summed): throttles, server errors, ``EstimatedTPMQuotaUsage``
  against the configured quota, an anomaly band for cost.
- **the composite** ``regional-health-composite``: any health alarm of the runbooks it triggers.
- **signals** for the rest (application stores, AWS Health, human declarations, user reports:
  what agentkit cannot see): an alarm on
  ``agentkit.signal`` with the dimension ``signal=<alarm name>`` that the team's detector, an
  EventBridge rule's target or an operator publishes (1 = the condition holds). The alarm
  exists, the runbook can trigger on it, and its description says what to wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentkit.runbooks.timing import DEFAULT_EVALUATION_PERIODS, DEFAULT_PERIOD_S

if TYPE_CHECKING:
    from agentkit.runbooks.model import Runbook

# agentkit.observe.observed.WATCHES names the alarms on agentkit's run-time events ("signal" here).
Kind = Literal["agent", "bedrock", "composite", "signal"]
COMPOSITE = "regional-health-composite"
SIGNAL_METRIC = "agentkit.signal"


@dataclass
class RunbookAlarm:
    """One alarm name and every runbook that names it."""

    name: str
    runbooks: list[str] = field(default_factory=list)
    period_s: int | None = None  # from the first trigger that declares it
    evaluation_periods: int | None = None
    as_trigger: bool = False
    descriptions: list[str] = field(default_factory=list)

    @property
    def period(self) -> int:
        return self.period_s or DEFAULT_PERIOD_S

    @property
    def periods(self) -> int:
        return self.evaluation_periods or DEFAULT_EVALUATION_PERIODS


def runbook_alarms(runbooks: Iterable[Runbook]) -> dict[str, RunbookAlarm]:
    """Every alarm the runbooks name, in name order, with the runbooks that name it."""
    found: dict[str, RunbookAlarm] = {}
    for runbook in sorted(runbooks, key=lambda r: r.id):
        for trigger in runbook.spec["triggers"]:
            alarm = found.setdefault(trigger["alarm"], RunbookAlarm(trigger["alarm"]))
            alarm.as_trigger = True
            if alarm.period_s is None and "period_s" in trigger:
                alarm.period_s = int(trigger["period_s"])
            if alarm.evaluation_periods is None and "evaluation_periods" in trigger:
                alarm.evaluation_periods = int(trigger["evaluation_periods"])
            if trigger.get("description"):
                alarm.descriptions.append(str(trigger["description"]))
            _name(alarm, runbook.id)
        for name in runbook.spec.get("health_alarms", []):
            _name(found.setdefault(name, RunbookAlarm(name)), runbook.id)
    return dict(sorted(found.items()))


def _name(alarm: RunbookAlarm, runbook_id: str) -> None:
    if runbook_id not in alarm.runbooks:
        alarm.runbooks.append(runbook_id)


def composite_children(runbooks: Iterable[Runbook]) -> list[str]:
    """The health alarms of every runbook that ``regional-health-composite`` triggers."""
    children: list[str] = []
    for runbook in sorted(runbooks, key=lambda r: r.id):
        if any(t["alarm"] == COMPOSITE for t in runbook.spec["triggers"]):
            children += [a for a in runbook.spec.get("health_alarms", []) if a not in children]
    return children


# --- what the agentkit and Bedrock alarms watch --------------------------------------------------

AGENT: dict[str, str] = {
    "agent-answer-success-rate": "the share of gateway calls that answered (agentkit.gateway."
    "requests by outcome) below {success:g}%",
    "agent-p99-latency": "p99 of gen_ai.client.operation.duration above {latency:g} s (the "
    "read timeout of resilience.timeouts)",
    "agent-model-calls-spike": "model calls a minute (agentkit.gateway.requests) above {calls} "
    "(the capacity plan's peak RPM x 2)",
}
BEDROCK: dict[str, str] = {
    "bedrock-invocation-throttles-high": "InvocationThrottles above 5% of Invocations",
    "bedrock-5xx-high": "InvocationServerErrors above 5 in a period (the runbooks' "
    "verification threshold)",
    "bedrock-estimated-tpm-80pct": "EstimatedTPMQuotaUsage above 80% of the Region's TPM quota",
    "bedrock-tpd-90pct": "EstimatedTPMQuotaUsage over a day above 90% of the Region's daily quota",
    "bedrock-cost-anomaly": "EstimatedTPMQuotaUsage above its anomaly band (2 standard deviations)",
}


def kind_of(name: str) -> Kind:
    if name == COMPOSITE:
        return "composite"
    if name in AGENT:
        return "agent"
    if name in BEDROCK:
        return "bedrock"
    return "signal"


def describe(alarm: RunbookAlarm, watches: str) -> str:
    """The alarm description: what it watches and the runbooks that name it (parsed by tests)."""
    text = f"{watches}. Runbooks: {', '.join(alarm.runbooks)}."
    return text[:1024]  # CloudWatch's limit


def signal_watch(alarm: RunbookAlarm) -> str:
    said = "; ".join(alarm.descriptions) or "the condition the runbooks' health checks name"
    return (
        f"Signal: publish {SIGNAL_METRIC}=1 with dimension signal={alarm.name} from the "
        f"detector that sees it ({said})"
    )


def metric(namespace: Any, name: str, dimensions: dict[str, str], stat: str, period: int) -> Any:
    """A MetricDataQuery's MetricStat."""
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        },
        "Period": period,
        "Stat": stat,
    }
