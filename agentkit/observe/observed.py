"""The alarms on events agentkit itself records at run time (not its gateway's traffic):
canary failures, degraded answers, guardrail events, Knowledge Base errors, tool loops and
breakers. Each watches the metric agentkit emits for that event, in the ``MetricsNamespace``
parameter, filtered on the attributes that tell the event apart:

==========================  ==========================================================
alarm                       metric (attributes)
==========================  ==========================================================
end-to-end-canary           ``agentkit.canary.checks`` (``outcome=failure``)
agent-degraded-answers      ``agentkit.answers`` (``agentkit.outcome=degraded``, and
                            ``error`` with ``error.type=AllRoutesFailed``), per capability
injection-detections        ``agentkit.guardrail.events`` (input, blocked, injection)
guardrail-block-rate-high   ``agentkit.guardrail.events`` (input blocked, Bedrock
                            intervened) over ``agentkit.answers``, per capability
kb-retrieve-errors          ``agentkit.knowledge.retrievals`` (``agentkit.outcome=error``)
anomalous-tool-calls        ``agentkit.answers`` (``agentkit.stop_reason=tool_loop``), plus
                            the team's ``agentkit.signal`` for calls agentkit cannot judge
tool-breaker-open           ``agentkit.tool.breaker.state`` = 2
bedrock-route-breaker-open  ``agentkit.breaker.state`` = 2 (the model routes in this Region)
==========================  ==========================================================

"Above the baseline" is CloudWatch's anomaly detection band (2 standard deviations), which an
alarm can take on a metric math expression as well as on one metric (CloudWatch User Guide,
"Create a CloudWatch alarm based on anomaly detection").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentkit.observe import alarms as a
from agentkit.observe.model import NAMESPACE, OUTCOME, Sub
from agentkit.telemetry.semconv import CLOUD_REGION

ANSWERS = "agentkit.answers"
AGENT = "gen_ai.agent.name"
GUARDRAIL_EVENTS = "agentkit.guardrail.events"
GUARD, ACTION, KIND = "agentkit.guard", "agentkit.guardrail.action", "agentkit.guardrail.kind"
# The guard events that kept an answer from a user: (guard, action, kind), every attribute the
# counter carries (agentkit.telemetry.guardrails), so no dimension rollup is needed.
INJECTION_BLOCKED = ("input", "blocked", "injection")
OFF_TOPIC_BLOCKED = ("input", "blocked", "off_topic")
BEDROCK_INTERVENED = ("bedrock", "intervened", "guardrail")
BLOCKS = (INJECTION_BLOCKED, OFF_TOPIC_BLOCKED, BEDROCK_INTERVENED)
BAND_STDDEVS = 2

Body = tuple[dict[str, Any], str]


def _stat(query_id: str, metric: str, dims: dict[str, str], period: int) -> dict[str, Any]:
    stat = a.metric(NAMESPACE, metric, dims, "Sum", period)
    return {"Id": query_id, "MetricStat": stat, "ReturnData": False}


def _sum(ids: list[str]) -> str:
    return " + ".join(f"FILL({i}, 0)" for i in ids)


def _at_least_one(queries: list[dict[str, Any]], label: str) -> dict[str, Any]:
    ids = [q["Id"] for q in queries]
    value = {"Id": "value", "Expression": _sum(ids), "Label": label, "ReturnData": True}
    return {
        "Metrics": [*queries, value],
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def _above_band(queries: list[dict[str, Any]], expression: str, label: str) -> dict[str, Any]:
    value = {"Id": "value", "Expression": expression, "Label": label, "ReturnData": True}
    band = {
        "Id": "band",
        "Expression": f"ANOMALY_DETECTION_BAND(value, {BAND_STDDEVS})",
        "ReturnData": True,
    }
    return {
        "Metrics": [*queries, value, band],
        "ThresholdMetricId": "band",
        "ComparisonOperator": "GreaterThanUpperThreshold",
    }


def _single(metric: str, dims: dict[str, str], stat: str, threshold: float, period: int) -> Any:
    dimensions = {"Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]} if dims else {}
    return {
        "Namespace": NAMESPACE,
        "MetricName": metric,
        **dimensions,
        "Statistic": stat,
        "Period": period,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def canary(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    body = _single("agentkit.canary.checks", {"outcome": "failure"}, "Sum", 1, alarm.period)
    return body, (
        "A canary request failed (agentkit.canary.checks with outcome=failure, one per route "
        "and run of agentkit canary) in a period"
    )


def degraded(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    queries: list[dict[str, Any]] = []
    for i, capability in enumerate(capabilities):
        answered = {AGENT: capability, OUTCOME: "degraded"}
        queries.append(_stat(f"d{i}", ANSWERS, answered, alarm.period))
        failed = {AGENT: capability, OUTCOME: "error", "error.type": "AllRoutesFailed"}
        queries.append(_stat(f"f{i}", ANSWERS, failed, alarm.period))
    body = _above_band(queries, _sum([q["Id"] for q in queries]), "degraded or unanswered runs")
    return body, (
        "Runs answered on a fallback path or failed on every route (agentkit.answers: "
        "agentkit.outcome=degraded, and error with error.type=AllRoutesFailed) of "
        f"{', '.join(capabilities)}, above their anomaly band ({BAND_STDDEVS} standard deviations)"
    )


def _guard_dims(event: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip((GUARD, ACTION, KIND), event, strict=True))


def injections(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    queries = [_stat("i", GUARDRAIL_EVENTS, _guard_dims(INJECTION_BLOCKED), alarm.period)]
    body = _above_band(queries, "FILL(i, 0)", "prompt injections refused")
    return body, (
        "Prompt injections the input guard refused (agentkit.guardrail.events with "
        "agentkit.guard=input, agentkit.guardrail.action=blocked, agentkit.guardrail.kind="
        "injection: agentkit's detector and a Bedrock guardrail's prompt-attack filter alike) "
        f"above their anomaly band ({BAND_STDDEVS} standard deviations)"
    )


def block_rate(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    period = alarm.period
    blocks = [
        _stat(f"b{i}", GUARDRAIL_EVENTS, _guard_dims(e), period) for i, e in enumerate(BLOCKS)
    ]
    runs = [
        _stat(f"r{i}{outcome[0]}", ANSWERS, {AGENT: capability, OUTCOME: outcome}, period)
        for i, capability in enumerate(capabilities)
        for outcome in ("ok", "degraded", "error")
    ]
    blocked, every = _sum([q["Id"] for q in blocks]), _sum([q["Id"] for q in runs])
    expression = f"IF(({every}) > 0, 100 * ({blocked}) / ({every}), 0)"
    body = _above_band(blocks + runs, expression, "% of runs a guard blocked")
    return body, (
        "The share of runs the input guard refused or a Bedrock guardrail intervened on "
        "(agentkit.guardrail.events: input blocked for injection or off topic, bedrock "
        f"intervened; over agentkit.answers of {', '.join(capabilities)}) above its anomaly "
        f"band ({BAND_STDDEVS} standard deviations: CloudWatch's baseline, where the runbook "
        "says three times the 7-day baseline)"
    )


def kb_errors(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    dims = {OUTCOME: "error"}
    body = _single("agentkit.knowledge.retrievals", dims, "Sum", 1, alarm.period)
    return body, (
        "Knowledge Base Retrieve calls that failed or timed out (agentkit.knowledge.retrievals "
        "with agentkit.outcome=error, per call and Region) at least once in a period (the "
        "runbooks verify recovery at fewer than 1)"
    )


def tool_calls(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    period = alarm.period
    loops = {OUTCOME: "error", "agentkit.stop_reason": "tool_loop"}
    queries = [
        _stat(f"l{i}", ANSWERS, {AGENT: capability, **loops}, period)
        for i, capability in enumerate(capabilities)
    ]
    signal = a.metric(NAMESPACE, a.SIGNAL_METRIC, {"signal": alarm.name}, "Maximum", period)
    queries.append({"Id": "s", "MetricStat": signal, "ReturnData": False})
    body = _at_least_one(queries, "tool loops, and the team's signal")
    return body, (
        "Runs agentkit stopped for calling one tool with the same arguments in a loop "
        f"(agentkit.answers with agentkit.stop_reason=tool_loop, of {', '.join(capabilities)}); "
        f"or {a.SIGNAL_METRIC}=1 with dimension signal={alarm.name} from the team's detector, "
        "for tool calls the task does not need, which agentkit cannot judge"
    )


def tool_breaker(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    body = _single("agentkit.tool.breaker.state", {}, "Maximum", 2, alarm.period)
    return body, "A tool's circuit breaker open (agentkit.tool.breaker.state = 2)"


def route_breaker(alarm: a.RunbookAlarm, capabilities: tuple[str, ...]) -> Body:
    # This Region's routes only: a fallback route's breaker open in another Region says nothing
    # about this one, and this alarm evacuates this Region (bedrock-region-evacuation).
    dims: dict[str, Any] = {CLOUD_REGION: Sub("${AWS::Region}")}
    body = _single("agentkit.breaker.state", dims, "Maximum", 2, alarm.period)
    return body, (
        "A model route's circuit breaker open in this Region (agentkit.breaker.state = 2 with "
        "cloud.region of the stack's Region, one per route of the gateway)"
    )


WATCHES: dict[str, Callable[[a.RunbookAlarm, tuple[str, ...]], Body]] = {
    "end-to-end-canary": canary,
    "agent-degraded-answers": degraded,
    "injection-detections": injections,
    "guardrail-block-rate-high": block_rate,
    "kb-retrieve-errors": kb_errors,
    "anomalous-tool-calls": tool_calls,
    "tool-breaker-open": tool_breaker,
    "bedrock-route-breaker-open": route_breaker,
}
