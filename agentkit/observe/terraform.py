"""``agentkit observe export --format terraform``: the same stack as Terraform JSON, ``*.tf.json``.

One provider configuration per Region (``aws.<region with underscores>``) and, in each Region,
every alarm and the dashboard of the :class:`~agentkit.observe.model.Stack` the CloudFormation
template renders: the same names, metrics, thresholds, periods and rules (a test compares the
two). Argument names are the AWS provider's (registry.terraform.io/providers/hashicorp/aws,
resources ``aws_cloudwatch_metric_alarm``, ``aws_cloudwatch_composite_alarm``,
``aws_cloudwatch_dashboard``; source: website/docs/r/cloudwatch_metric_alarm.html.markdown of
hashicorp/terraform-provider-aws): PutMetricAlarm's members in snake case, ``Metrics`` as
``metric_query`` blocks with a nested ``metric``, dimensions as a map.

Symbols: a parameter is a variable (``var.metrics_namespace``; a per-Region quota a
``map(number)`` keyed by Region), a :class:`~agentkit.observe.model.Quota` the Region's number,
``AWS::Partition`` and ``AWS::AccountId`` the ``aws_partition`` and ``aws_caller_identity``
data sources of the Region's provider. Literal text is escaped (``$${``, ``%%{``) so that
Terraform reads it as written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.observe.model import PLACEHOLDER, Alarm, Param, Quota, Stack, Sub

PROVIDER_VERSION = ">= 5.0"  # the argument names used here are those of the 5.x provider
_ALARM_ARGS = {
    "AlarmName": "alarm_name",
    "AlarmDescription": "alarm_description",
    "AlarmRule": "alarm_rule",
    "EvaluationPeriods": "evaluation_periods",
    "DatapointsToAlarm": "datapoints_to_alarm",
    "TreatMissingData": "treat_missing_data",
    "Threshold": "threshold",
    "ThresholdMetricId": "threshold_metric_id",
    "ComparisonOperator": "comparison_operator",
    "Namespace": "namespace",
    "MetricName": "metric_name",
    "Period": "period",
    "Statistic": "statistic",
    "ExtendedStatistic": "extended_statistic",
}
_QUERY_ARGS = {
    "Id": "id",
    "Expression": "expression",
    "Label": "label",
    "ReturnData": "return_data",
}
_METRIC_ARGS = {"Namespace": "namespace", "MetricName": "metric_name"}
_STAT_ARGS = {"Period": "period", "Stat": "stat"}


def snake(name: str) -> str:
    """A Terraform identifier from a name (letters, digits, underscores; a letter first)."""
    ident = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return ident if ident[:1].isalpha() else f"x_{ident}"


def variable(name: str) -> str:
    """The variable of a CloudFormation parameter name: ``TpmQuota`` -> ``tpm_quota``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def resource_type(alarm: Alarm) -> str:
    return "aws_cloudwatch_composite_alarm" if alarm.composite else "aws_cloudwatch_metric_alarm"


def resource_name(alarm_name: str, region: str) -> str:
    return f"{snake(alarm_name)}__{snake(region)}"


def to_terraform(stack: Stack) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = {
        "aws_cloudwatch_metric_alarm": {},
        "aws_cloudwatch_composite_alarm": {},
        "aws_cloudwatch_dashboard": {},
    }
    for region in stack.regions:
        r = _Region(stack, region)
        for alarm in stack.alarms:
            resources[resource_type(alarm)][resource_name(alarm.name, region)] = r.alarm(alarm)
        resources["aws_cloudwatch_dashboard"][f"agentkit__{snake(region)}"] = {
            "provider": r.provider,
            "dashboard_name": r.value(stack.dashboard_name),
            "dashboard_body": r.value(stack.dashboard_body),
        }
    return {
        "//": stack.description,
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": PROVIDER_VERSION}}
        },
        "provider": {"aws": [{"alias": snake(r), "region": r} for r in stack.regions]},
        "variable": {
            variable(p.name): {
                "type": "map(number)"
                if p.per_region
                else ("number" if p.kind == "Number" else "string"),
                "description": p.description
                + (" One value per Region, keyed by Region." if p.per_region else ""),
                **({"default": p.default} if p.default is not None else {}),
            }
            for p in stack.parameters
        },
        "data": {
            source: {snake(r): {"provider": f"aws.{snake(r)}"} for r in stack.regions}
            for source in ("aws_partition", "aws_caller_identity")
        },
        "resource": {kind: found for kind, found in resources.items() if found},
    }


class _Region:
    """Renders the stack's values for one Region's provider."""

    def __init__(self, stack: Stack, region: str) -> None:
        self.stack = stack
        self.region = region
        self.provider = f"aws.{snake(region)}"
        self.per_region = {p.name for p in stack.parameters if p.per_region}

    def alarm(self, alarm: Alarm) -> dict[str, Any]:
        found: dict[str, Any] = {"provider": self.provider}
        for key, value in alarm.props.items():
            if key == "Metrics":
                found["metric_query"] = [self._query(q) for q in value]
            elif key == "Dimensions":
                found["dimensions"] = {d["Name"]: self.value(d["Value"]) for d in value}
            else:
                found[_ALARM_ARGS[key]] = self.value(value)
        if alarm.children:
            found["depends_on"] = [
                f"{resource_type(self.stack.by_name[c])}.{resource_name(c, self.region)}"
                for c in alarm.children
            ]
        return found

    def _query(self, query: dict[str, Any]) -> dict[str, Any]:
        found = {_QUERY_ARGS[k]: self.value(v) for k, v in query.items() if k in _QUERY_ARGS}
        stat = query.get("MetricStat")
        if stat is not None:
            metric = stat["Metric"]
            found["metric"] = {
                **{_METRIC_ARGS[k]: self.value(v) for k, v in metric.items() if k in _METRIC_ARGS},
                "dimensions": {d["Name"]: self.value(d["Value"]) for d in metric["Dimensions"]},
                **{_STAT_ARGS[k]: self.value(v) for k, v in stat.items() if k in _STAT_ARGS},
            }
        return found

    def value(self, value: Any) -> Any:
        if isinstance(value, Param):
            return "${" + self._expression(value.name) + "}"
        if isinstance(value, Quota):
            assert self.stack.quotas is not None
            return self.stack.quotas[self.region][value.key]
        if isinstance(value, Sub):
            return self._sub(value)
        if isinstance(value, str):
            return escape(value)
        return value

    def _expression(self, name: str) -> str:
        if name == "AWS::Region":
            return json.dumps(self.region)
        if name == "AWS::Partition":
            return f"data.aws_partition.{snake(self.region)}.partition"
        if name == "AWS::AccountId":
            return f"data.aws_caller_identity.{snake(self.region)}.account_id"
        if name in self.per_region:
            return f"var.{variable(name)}[{json.dumps(self.region)}]"
        return f"var.{variable(name)}"

    def _sub(self, sub: Sub) -> str:
        bound = dict(sub.values)
        parts: list[str] = []
        last = 0
        for match in PLACEHOLDER.finditer(sub.text):
            parts.append(escape(sub.text[last : match.start()]))
            name = match.group(1)
            if name == "AWS::Region":
                parts.append(escape(self.region))
            elif name in bound:
                rendered = self.value(bound[name])
                parts.append(str(rendered))
            else:
                parts.append("${" + self._expression(name) + "}")
            last = match.end()
        parts.append(escape(sub.text[last:]))
        return "".join(parts)


def escape(text: str) -> str:
    """Literal text inside a Terraform string: ``${`` and ``%{`` would start a template."""
    return text.replace("${", "$${").replace("%{", "%%{")


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
