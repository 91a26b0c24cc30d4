"""The :class:`~agentkit.observe.model.Stack` of a configuration and its runbooks: what each
alarm the runbooks name watches (:mod:`agentkit.observe.alarms` lists them), the SLO burn-rate
alarms (:mod:`agentkit.observe.burn`), and one dashboard that shows every Region side by side.

Inputs come from ``agentkit.yaml``: the routes' models and Regions, the read timeout, the
capacity section's quotas and peak RPM (without one, the stack asks for them as parameters),
and the ``slos:`` section (else :func:`agentkit.observe.slo.default_slos`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentkit.observe import alarms as a
from agentkit.observe import burn, observed
from agentkit.observe.model import (
    NAMESPACE,
    OUTCOME,
    Alarm,
    Param,
    Parameter,
    Quota,
    Stack,
    Sub,
    composite,
)
from agentkit.observe.slo import Slo, default_slos

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agentkit.config import AgentkitConfig
    from agentkit.runbooks.model import Runbook

BEDROCK_NS = "AWS/Bedrock"
SUCCESS_PERCENT = 99.0  # agentkit's default answer success objective
TPD_PERIOD_S = 86_400


@dataclass(frozen=True)
class Deployment:
    regions: tuple[str, ...]
    models: tuple[str, ...]
    read_timeout_s: float
    quotas: dict[str, tuple[int, int]] | None  # Region -> (TPM, TPD); None: parameters
    peak_rpm: float | None
    capabilities: tuple[str, ...] = ()  # the SLOs' (gen_ai.agent.name on agentkit.answers)


def deployment(config: AgentkitConfig) -> Deployment:
    routes = config.models.routes
    regions = {r.region for r in routes}
    quotas = None
    peak = None
    capacity = config.capacity
    if capacity is not None:
        from agentkit.capacity.model import compute_capacity

        regions |= set(capacity.quotas)
        quotas = {
            region: (q.tpm, q.tpd if q.tpd is not None else q.tpm * 1440)
            for region, q in capacity.quotas.items()
        }
        peak = compute_capacity(capacity).model.rpm * capacity.peak_factor
    return Deployment(
        regions=tuple(sorted(regions)),
        models=tuple(dict.fromkeys(r.model for r in routes)),
        read_timeout_s=config.resilience.timeouts.read_s,
        quotas=quotas,
        peak_rpm=peak,
        capabilities=tuple(s.capability for s in _slos(config)),
    )


def _slos(config: AgentkitConfig) -> Sequence[Slo]:
    return config.slos or default_slos(config.limits.deadline_s)


def build_stack(config: AgentkitConfig, runbooks: list[Runbook]) -> Stack:
    """Every alarm the runbooks name, the SLO burn-rate alarms behind ``agent-slo-burn`` when a
    runbook names it, and the dashboard."""
    d = deployment(config)
    found = a.runbook_alarms(runbooks)
    alarms: list[Alarm] = []
    slos = _slos(config)
    if burn.COMPOSITE in found:
        alarms += burn.slo_alarms(slos, found[burn.COMPOSITE])
    alarms += [_alarm(x, d, found, runbooks) for x in found.values() if x.name != burn.COMPOSITE]
    exported = slos if burn.COMPOSITE in found else ()
    watched = list(found) + [burn.capability_composite(s) for s in exported]
    return Stack(
        description="agentkit: the alarms the runbooks name, their composites, the SLO "
        "burn-rate alarms and a cross-Region dashboard. Deploy in every Region: "
        + ", ".join(d.regions),
        regions=d.regions,
        parameters=_parameters(d),
        quotas=(
            {r: {"Tpm": tpm, "Tpd": tpd} for r, (tpm, tpd) in sorted(d.quotas.items())}
            if d.quotas is not None
            else None
        ),
        alarms=tuple(sorted(alarms, key=lambda x: x.name)),
        dashboard_name=Sub("agentkit-${AWS::Region}"),
        dashboard_body=_dashboard(d, watched, exported),
    )


def _parameters(d: Deployment) -> tuple[Parameter, ...]:
    found = [
        Parameter(
            "MetricsNamespace",
            "String",
            "The CloudWatch namespace your OTLP pipeline writes agentkit's metrics to (and the "
            "signals your detectors publish).",
            default="agentkit",
        )
    ]
    if d.quotas is None:
        for key, what in (("TpmQuota", "tokens per minute"), ("TpdQuota", "tokens per day")):
            found.append(
                Parameter(
                    key,
                    "Number",
                    f"This Region's Bedrock {what} quota for the routes' model (Service "
                    "Quotas); agentkit.yaml has no capacity: section to read it from.",
                    per_region=True,
                )
            )
    if d.peak_rpm is None:
        found.append(
            Parameter(
                "ModelCallsPerMinuteLimit",
                "Number",
                "Model calls a minute above which agent-model-calls-spike fires "
                "(agentkit.yaml has no capacity: section to derive it from).",
            )
        )
    return tuple(found)


def _quota(key: Literal["Tpm", "Tpd"], d: Deployment) -> Quota | Param:
    return Quota(key) if d.quotas is not None else Param(f"{key}Quota")


def _alarm(
    alarm: a.RunbookAlarm, d: Deployment, found: dict[str, a.RunbookAlarm], books: list[Runbook]
) -> Alarm:
    kind = a.kind_of(alarm.name)
    if kind == "composite":
        children = [c for c in a.composite_children(books) if c in found]
        watches = f"Any health alarm of the Region in ALARM: {', '.join(children)}"
        return composite(alarm.name, a.describe(alarm, watches), children)
    if alarm.name in observed.WATCHES:
        body, watches = observed.WATCHES[alarm.name](alarm, d.capabilities)
    elif kind == "agent":
        body, watches = _agent(alarm, d)
    elif kind == "bedrock":
        body, watches = _bedrock(alarm, d)
    else:
        body, watches = _signal(alarm), a.signal_watch(alarm)
    periods = 1 if alarm.name == "bedrock-tpd-90pct" else alarm.periods
    props = {
        "AlarmName": alarm.name,
        "AlarmDescription": a.describe(alarm, watches),
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        "TreatMissingData": "notBreaching",
        **body,
    }
    return Alarm(alarm.name, props)


def _signal(alarm: a.RunbookAlarm) -> dict[str, Any]:
    return {
        "Namespace": NAMESPACE,
        "MetricName": a.SIGNAL_METRIC,
        "Dimensions": [{"Name": "signal", "Value": alarm.name}],
        "Statistic": "Maximum",
        "Period": alarm.period,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def _agent(alarm: a.RunbookAlarm, d: Deployment) -> tuple[dict[str, Any], str]:
    requests = "agentkit.gateway.requests"
    period = alarm.period
    calls = round(2 * d.peak_rpm) if d.peak_rpm is not None else "ModelCallsPerMinuteLimit"
    watches = a.AGENT[alarm.name].format(
        success=SUCCESS_PERCENT, latency=d.read_timeout_s, calls=calls
    )
    if alarm.name == "agent-answer-success-rate":
        ok = a.metric(NAMESPACE, requests, {OUTCOME: "ok"}, "Sum", period)
        err = a.metric(NAMESPACE, requests, {OUTCOME: "error"}, "Sum", period)
        queries = [
            {"Id": "ok", "MetricStat": ok, "ReturnData": False},
            {"Id": "err", "MetricStat": err, "ReturnData": False},
            {"Id": "rate", "Expression": "100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(err, 0))",
             "Label": "answer success %", "ReturnData": True},
        ]  # fmt: skip
        return {
            "Metrics": queries,
            "Threshold": SUCCESS_PERCENT,
            "ComparisonOperator": "LessThanThreshold",
        }, watches
    single: dict[str, Any] = {"Namespace": NAMESPACE, "Period": period}
    if alarm.name == "agent-p99-latency":
        single |= {
            "MetricName": "gen_ai.client.operation.duration",
            "ExtendedStatistic": "p99",
            "Threshold": d.read_timeout_s,
            "ComparisonOperator": "GreaterThanThreshold",
        }
    else:  # agent-model-calls-spike, per minute
        limit: Any = Param("ModelCallsPerMinuteLimit") if d.peak_rpm is None else calls
        single |= {
            "MetricName": requests,
            "Statistic": "Sum",
            "Period": 60,
            "Threshold": limit,
            "ComparisonOperator": "GreaterThanThreshold",
        }
    return single, watches


def _per_model(metric_name: str, prefix: str, d: Deployment, period: int) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"{prefix}{i}",
            "MetricStat": a.metric(BEDROCK_NS, metric_name, {"ModelId": model}, "Sum", period),
            "ReturnData": False,
        }
        for i, model in enumerate(d.models)
    ]


def _sum(prefix: str, d: Deployment) -> str:
    return " + ".join(f"FILL({prefix}{i}, 0)" for i in range(len(d.models)))


def _bedrock(alarm: a.RunbookAlarm, d: Deployment) -> tuple[dict[str, Any], str]:
    name, period = alarm.name, alarm.period
    watches = a.BEDROCK[name]
    if name == "bedrock-cost-anomaly":
        queries = _per_model("EstimatedTPMQuotaUsage", "q", d, period)[:1]
        queries[0]["ReturnData"] = True
        queries.append(
            {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(q0, 2)", "ReturnData": True}
        )
        return {
            "Metrics": queries,
            "ThresholdMetricId": "band",
            "ComparisonOperator": "GreaterThanUpperThreshold",
        }, f"{watches}, for {d.models[0]}, the first route's model"
    if name == "bedrock-invocation-throttles-high":
        queries = _per_model("InvocationThrottles", "t", d, period)
        queries += _per_model("Invocations", "i", d, period)
        expression: Any = f"100 * ({_sum('t', d)}) / ({_sum('i', d)})"
        threshold = 5
    elif name == "bedrock-5xx-high":
        queries = _per_model("InvocationServerErrors", "e", d, period)
        expression, threshold = _sum("e", d), 5
    else:  # the quota alarms: a share of the Region's quota, in percent
        tpd = name == "bedrock-tpd-90pct"
        window = TPD_PERIOD_S if tpd else 60
        queries = _per_model("EstimatedTPMQuotaUsage", "q", d, window)
        quota = _quota("Tpd" if tpd else "Tpm", d)
        expression = Sub(f"100 * ({_sum('q', d)}) / ${{Quota}}", (("Quota", quota),))
        threshold = 90 if tpd else 80
    queries.append({"Id": "value", "Expression": expression, "ReturnData": True})
    return {
        "Metrics": queries,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
    }, watches


# --- the dashboard: every Region side by side ---------------------------------------------------


def _lines(namespace: str, metric: str, dims: list[str], d: Deployment, **extra: Any) -> list[Any]:
    return [[namespace, metric, *dims, {"region": r, "label": r, **extra}] for r in d.regions]


def _widget(title: str, metrics: list[Any], index: int, **props: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": 12 * (index % 2),
        "y": 6 * (index // 2),
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "metrics": metrics,
            "region": "${AWS::Region}",
            "period": 60,
            **props,
        },
    }


def _slo_widgets(slos: Sequence[Slo], d: Deployment, start: int) -> list[dict[str, Any]]:
    """Per SLO with a success objective: the share of runs not answered, per Region, against
    the error budget."""
    ns = "${MetricsNamespace}"
    widgets: list[dict[str, Any]] = []
    for slo in slos:
        if slo.success_rate is None:
            continue
        lines: list[Any] = []
        for i, region in enumerate(d.regions):
            for outcome in ("ok", *burn.FAILED):
                where = {"region": region, "id": f"{outcome[:3]}{i}", "visible": False}
                lines.append(
                    [ns, burn.ANSWERS, burn.AGENT, slo.capability, OUTCOME, outcome, where]
                )
            bad = " + ".join(f"FILL({o[:3]}{i}, 0)" for o in burn.FAILED)
            every = " + ".join(f"FILL({o[:3]}{i}, 0)" for o in ("ok", *burn.FAILED))
            lines.append([{"expression": f"({bad}) / ({every})", "label": region, "id": f"r{i}"}])
        budget = round(slo.success_rate.budget, 6)
        widgets.append(
            _widget(
                f"{slo.capability}: share of runs not answered, per Region (budget {budget:g})",
                lines,
                start + len(widgets),
                stat="Sum",
                annotations={"horizontal": [{"label": "error budget", "value": budget}]},
            )
        )
    return widgets


def _dashboard(d: Deployment, names: list[str], slos: Sequence[Slo]) -> Sub:
    ns = "${MetricsNamespace}"
    success = []
    for i, region in enumerate(d.regions):
        success += [
            [ns, "agentkit.gateway.requests", OUTCOME, "ok",
             {"region": region, "id": f"ok{i}", "visible": False}],
            [ns, "agentkit.gateway.requests", OUTCOME, "error",
             {"region": region, "id": f"err{i}", "visible": False}],
            [{"expression": f"100 * FILL(ok{i}, 0) / (FILL(ok{i}, 0) + FILL(err{i}, 0))",
              "label": region, "id": f"rate{i}"}],
        ]  # fmt: skip
    bedrock = [
        (f"Bedrock {metric}: {model}", [BEDROCK_NS, metric, "ModelId", model])
        for metric in ("Invocations", "InvocationThrottles", "EstimatedTPMQuotaUsage")
        for model in d.models
    ]
    widgets = [
        _widget("Answer success % (agentkit), per Region", success, 0, stat="Sum"),
        _widget(
            "p99 model call seconds (agentkit), per Region",
            _lines(ns, "gen_ai.client.operation.duration", [], d),
            1,
            stat="p99",
        ),
        _widget(
            "Breaker state (2 = open), per Region",
            _lines(ns, "agentkit.breaker.state", [], d),
            2,
            stat="Maximum",
        ),
        _widget(
            "Fallbacks (agentkit), per Region",
            _lines(ns, "agentkit.gateway.fallbacks", [], d),
            3,
            stat="Sum",
        ),
    ]
    for index, (title, (namespace, metric, *dims)) in enumerate(bedrock, start=len(widgets)):
        widgets.append(_widget(title, _lines(namespace, metric, dims, d), index, stat="Sum"))
    widgets += _slo_widgets(slos, d, len(widgets))
    arns = [
        f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{n}"
        for n in names
    ]
    widgets.append(
        {
            "type": "alarm",
            "x": 0,
            "y": 6 * ((len(widgets) + 1) // 2),
            "width": 24,
            "height": 8,
            "properties": {"title": "Runbook and SLO alarms in this Region", "alarms": arns},
        }
    )
    return Sub(json.dumps({"widgets": widgets}, sort_keys=True))
