"""``agentkit observe export --format cloudformation``: one template, deployed to every Region.

The template renders the :class:`~agentkit.observe.model.Stack` (every alarm the runbooks name,
their composites, the SLO burn-rate alarms and one dashboard that shows every Region of the
configuration side by side), so a failover never blinds the operator: deploy the same stack in
each Region. Symbols become intrinsics: a :class:`~agentkit.observe.model.Param` a ``Ref`` to a
parameter, a :class:`~agentkit.observe.model.Quota` a ``Fn::FindInMap`` on the ``Quotas``
mapping by ``AWS::Region``, a :class:`~agentkit.observe.model.Sub` a ``Fn::Sub``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from agentkit.observe.build import build_stack
from agentkit.observe.model import Param, Quota, Stack, Sub

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig
    from agentkit.runbooks.model import Runbook


def logical_id(name: str, prefix: str = "Alarm") -> str:
    return prefix + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def build_template(config: AgentkitConfig, runbooks: list[Runbook]) -> dict[str, Any]:
    return to_template(build_stack(config, runbooks))


def to_template(stack: Stack) -> dict[str, Any]:
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": stack.description,
        "Parameters": {
            p.name: {
                "Type": p.kind,
                "Description": p.description,
                **({"Default": p.default} if p.default is not None else {}),
            }
            for p in stack.parameters
        },
        "Resources": {},
    }
    if stack.quotas is not None:
        template["Mappings"] = {"Quotas": stack.quotas}
    resources = template["Resources"]
    for alarm in stack.alarms:
        resource: dict[str, Any] = {
            "Type": "AWS::CloudWatch::CompositeAlarm"
            if alarm.composite
            else "AWS::CloudWatch::Alarm",
            "Properties": cfn(alarm.props),
        }
        if alarm.children:
            resource["DependsOn"] = [logical_id(c) for c in alarm.children]
        resources[logical_id(alarm.name)] = resource
    resources["Dashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": cfn(stack.dashboard_name),
            "DashboardBody": cfn(stack.dashboard_body),
        },
    }
    return template


def cfn(value: Any) -> Any:
    """``value`` with its symbols as CloudFormation intrinsics."""
    if isinstance(value, Param):
        return {"Ref": value.name}
    if isinstance(value, Quota):
        return {"Fn::FindInMap": ["Quotas", {"Ref": "AWS::Region"}, value.key]}
    if isinstance(value, Sub):
        if not value.values:
            return {"Fn::Sub": value.text}
        return {"Fn::Sub": [value.text, {k: cfn(v) for k, v in value.values}]}
    if isinstance(value, dict):
        return {k: cfn(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cfn(v) for v in value]
    return value


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
