"""``agentkit observe export --format cloudformation``: one template, deployed to every Region.

The template holds every alarm the runbooks name (:mod:`agentkit.observe.alarms`), the
composite ``regional-health-composite``, and one dashboard that shows every Region of the
configuration side by side (routes' Regions and the capacity section's quota Regions), so a
failover never blinds the operator: deploy the same stack in each Region. Inputs come from
``agentkit.yaml``: the routes' models and Regions, the read timeout, the capacity section's
quotas and peak RPM (without one, the template asks for them as parameters).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.observe import alarms as a

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig
    from agentkit.runbooks.model import Runbook

NS = {"Ref": "MetricsNamespace"}
BEDROCK_NS = "AWS/Bedrock"
SUCCESS_PERCENT = 99.0  # agentkit's default answer success objective
TPD_PERIOD_S = 86_400


@dataclass(frozen=True)
class Deployment:
    """What the template needs from the configuration."""

    regions: tuple[str, ...]
    models: tuple[str, ...]
    read_timeout_s: float
    quotas: dict[str, tuple[int, int]] | None  # Region -> (TPM, TPD); None: parameters
    peak_rpm: float | None


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
    )


def logical_id(name: str, prefix: str = "Alarm") -> str:
    return prefix + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def build_template(config: AgentkitConfig, runbooks: list[Runbook]) -> dict[str, Any]:
    d = deployment(config)
    found = a.runbook_alarms(runbooks)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "agentkit: the alarms the runbooks name, their composite and a "
        "cross-Region dashboard. Deploy the same stack in every Region: " + ", ".join(d.regions),
        "Parameters": {
            "MetricsNamespace": {
                "Type": "String",
                "Default": "agentkit",
                "Description": "The CloudWatch namespace your OTLP pipeline writes agentkit's "
                "metrics to (and the signals your detectors publish).",
            }
        },
        "Resources": {},
    }
    _quota_inputs(template, d)
    resources = template["Resources"]
    for alarm in found.values():
        resources[logical_id(alarm.name)] = _alarm(alarm, d, found, runbooks)
    resources["Dashboard"] = _dashboard(d, list(found))
    return template


def _quota_inputs(template: dict[str, Any], d: Deployment) -> None:
    if d.quotas is not None:
        template["Mappings"] = {
            "Quotas": {r: {"Tpm": tpm, "Tpd": tpd} for r, (tpm, tpd) in sorted(d.quotas.items())}
        }
    else:
        for key, what in (("TpmQuota", "tokens per minute"), ("TpdQuota", "tokens per day")):
            template["Parameters"][key] = {
                "Type": "Number",
                "Description": f"This Region's Bedrock {what} quota for the routes' model "
                "(Service Quotas); agentkit.yaml has no capacity: section to read it from.",
            }
    if d.peak_rpm is None:
        template["Parameters"]["ModelCallsPerMinuteLimit"] = {
            "Type": "Number",
            "Description": "Model calls a minute above which agent-model-calls-spike fires "
            "(agentkit.yaml has no capacity: section to derive it from).",
        }


def _quota(key: str, d: Deployment) -> Any:
    if d.quotas is not None:
        return {"Fn::FindInMap": ["Quotas", {"Ref": "AWS::Region"}, key]}
    return {"Ref": f"{key}Quota"}


def _alarm(
    alarm: a.RunbookAlarm, d: Deployment, found: dict[str, a.RunbookAlarm], books: list[Runbook]
) -> dict[str, Any]:
    kind = a.kind_of(alarm.name)
    if kind == "composite":
        children = [c for c in a.composite_children(books) if c in found]
        return {
            "Type": "AWS::CloudWatch::CompositeAlarm",
            "DependsOn": [logical_id(c) for c in children],
            "Properties": {
                "AlarmName": alarm.name,
                "AlarmDescription": a.describe(
                    alarm, f"Any health alarm of the Region in ALARM: {', '.join(children)}"
                ),
                "AlarmRule": " OR ".join(f'ALARM("{c}")' for c in children),
            },
        }
    if kind == "agent":
        body, watches = _agent(alarm, d)
    elif kind == "bedrock":
        body, watches = _bedrock(alarm, d)
    else:
        body, watches = _signal(alarm), a.signal_watch(alarm)
    periods = 1 if alarm.name == "bedrock-tpd-90pct" else alarm.periods
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": alarm.name,
            "AlarmDescription": a.describe(alarm, watches),
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "TreatMissingData": "notBreaching",
            **body,
        },
    }


def _signal(alarm: a.RunbookAlarm) -> dict[str, Any]:
    return {
        "Namespace": NS,
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
        queries = [
            {"Id": "ok", "MetricStat": a.metric(NS, requests, {"outcome": "ok"}, "Sum", period),
             "ReturnData": False},
            {"Id": "err", "MetricStat": a.metric(NS, requests, {"outcome": "error"}, "Sum", period),
             "ReturnData": False},
            {"Id": "rate", "Expression": "100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(err, 0))",
             "Label": "answer success %", "ReturnData": True},
        ]  # fmt: skip
        return {
            "Metrics": queries,
            "Threshold": SUCCESS_PERCENT,
            "ComparisonOperator": "LessThanThreshold",
        }, watches
    single: dict[str, Any] = {"Namespace": NS, "Period": period}
    if alarm.name == "agent-p99-latency":
        single |= {
            "MetricName": "gen_ai.client.operation.duration",
            "ExtendedStatistic": "p99",
            "Threshold": d.read_timeout_s,
            "ComparisonOperator": "GreaterThanThreshold",
        }
    elif alarm.name == "tool-breaker-open":
        single |= {
            "MetricName": "agentkit.breaker.state",
            "Statistic": "Maximum",
            "Threshold": 2,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        }
    else:  # agent-model-calls-spike, per minute
        limit: Any = {"Ref": "ModelCallsPerMinuteLimit"} if d.peak_rpm is None else calls
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
        expression = {
            "Fn::Sub": [
                f"100 * ({_sum('q', d)}) / ${{Quota}}",
                {"Quota": _quota("Tpd" if tpd else "Tpm", d)},
            ]
        }
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


def _dashboard(d: Deployment, names: list[str]) -> dict[str, Any]:
    ns = "${MetricsNamespace}"
    success = []
    for i, region in enumerate(d.regions):
        success += [
            [ns, "agentkit.gateway.requests", "outcome", "ok",
             {"region": region, "id": f"ok{i}", "visible": False}],
            [ns, "agentkit.gateway.requests", "outcome", "error",
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
            "properties": {"title": "Runbook alarms in this Region", "alarms": arns},
        }
    )
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "agentkit-${AWS::Region}"},
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, sort_keys=True)},
        },
    }


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
