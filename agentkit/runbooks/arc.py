"""Export a runbook plan as an AWS ARC Region switch ``CreatePlan`` request.

Every execution block gets the configuration shape the ARC API requires, with real identifiers:
ARNs that follow from a name (IAM roles, Lambda functions, Aurora and RDS clusters and instances,
ECS services) are built from the account, the Region's partition and the names in the step's
``params``; ARNs that hold a generated id (routing controls, Region switch plans, Auto Scaling
groups, hosted zones) come from ``bindings`` (name, or ``name@region`` for per-Region resources,
to ARN or id). A step whose ARC block cannot be filled that way, and every agentkit action, is a
custom action: the Lambda named by the step's ``function`` param, else the one action Lambda
(:data:`ACTION_FUNCTION`, the handler :func:`agentkit.ops.lambda_handler.handler`, packaged as
docs/ops.md says) that receives the step type and params, in both of the plan's Regions. Manual
steps are manual approvals. No ``<REPLACE>`` marker is emitted; the notes say which steps fell
back. A step an operator override carries out (:mod:`agentkit.ops.steps`) has the change in its
payload's ``ops``, which the action Lambda applies; any other step sent to it is refused there
(the notes name those steps).

Backup and restore has no Region switch plan, and a runbook acting inside one Region has none
either: both are refused. The output validates against botocore's ``arc-region-switch`` model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import InputError
from agentkit.ops.steps import step_action

ACTION_FUNCTION = "agentkit-runbook-action"
EXECUTION_ROLE = "region-switch-execution"
APPROVAL_ROLE = "region-switch-approver"
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class ArcTarget:
    """Where the plan runs: the account, role names and the bindings for generated ids."""

    account: str
    bindings: Mapping[str, str] = field(default_factory=dict)
    execution_role: str = EXECUTION_ROLE
    approval_role: str = APPROVAL_ROLE
    action_function: str = ACTION_FUNCTION

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account):
            raise InputError(f"--account {self.account!r} is not a 12-digit AWS account id")


@dataclass
class _Export:
    plan: dict[str, Any]
    target: ArcTarget
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return str(self.plan["regions"]["source"])

    @property
    def dest(self) -> str:
        return str(self.plan["regions"]["target"])

    def arn(self, service: str, region: str, resource: str) -> str:
        from agentkit.regions import partition_of

        return f"arn:{partition_of(region)}:{service}:{region}:{self.target.account}:{resource}"

    def role(self, name: str) -> str:
        from agentkit.regions import partition_of

        return f"arn:{partition_of(self.source)}:iam::{self.target.account}:role/{name}"

    def bound(self, name: Any) -> str | None:
        return self.target.bindings.get(str(name)) if name else None


def _minutes(step: dict[str, Any], default: int = 60) -> int:
    return max(1, -(-int(step.get("timeout_s", default * 60)) // 60))


def action_payload(step: Mapping[str, Any]) -> dict[str, Any]:
    """The custom action's payload: the step, and the override it means as ``"ops"`` (what
    :func:`agentkit.ops.lambda_handler.handler` applies)."""
    params = step.get("params", {})
    payload: dict[str, Any] = {"step": step["id"], "type": step["type"], "params": params}
    override = step_action(step["type"], params)
    if override is not None:  # the action Lambda applies it to the fleet's ops document
        payload["ops"] = override.to_json()
    return payload


def _custom(
    ex: _Export, step: dict[str, Any], *, noted: bool = False
) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    deactivating = step.get("run_in") in ("deactivating", "source")
    function = str(params.get("function") or ex.target.action_function)
    payload = action_payload(step)
    if "ops" not in payload and not params.get("function") and not noted:
        ex.notes.append(
            f"{step['id']} ({step['type']}): no operator override carries it out, so "
            f"{function} refuses it; give the step a function param naming the Lambda that does"
        )
    body = json.dumps(payload, sort_keys=True)
    # Region switch wants the function in each of the plan's Regions and runs the one of
    # regionToRun (docs: "Custom action Lambda execution block").
    lambdas = [
        {"arn": ex.arn("lambda", region, f"function:{function}"), "payload": body}
        for region in dict.fromkeys((ex.source, ex.dest))
    ]
    config = {
        "customActionLambdaConfig": {
            "lambdas": lambdas,
            "retryIntervalMinutes": 1.0,
            "regionToRun": "deactivatingRegion" if deactivating else "activatingRegion",
            "timeoutMinutes": _minutes(step),
        }
    }
    return "CustomActionLambda", config


def _fallback(ex: _Export, step: dict[str, Any], missing: str) -> tuple[str, dict[str, Any]]:
    ex.notes.append(
        f"{step['id']} ({step['type']}): no binding for {missing}; exported as a custom action"
    )
    return _custom(ex, step, noted=True)


def _aurora(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    names = [params.get(k) for k in ("global_cluster", "source_cluster", "target_cluster")]
    if not all(names):
        return _fallback(ex, step, "global_cluster/source_cluster/target_cluster params")
    failover = step["type"] == "aurora.failover"
    config: dict[str, Any] = {
        "behavior": "failover" if failover else "switchoverOnly",
        "globalClusterIdentifier": str(names[0]),
        "databaseClusterArns": [
            ex.arn("rds", ex.source, f"cluster:{names[1]}"),
            ex.arn("rds", ex.dest, f"cluster:{names[2]}"),
        ],
        "timeoutMinutes": _minutes(step),
    }
    if failover:
        config["ungraceful"] = {"ungraceful": "failover"}
    return "AuroraGlobalDatabase", {"globalAuroraConfig": config}


def _rds_promote(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    if not (params.get("source_instance") and params.get("target_instance")):
        return _fallback(ex, step, "source_instance/target_instance params")
    arns = {
        ex.source: ex.arn("rds", ex.source, f"db:{params['source_instance']}"),
        ex.dest: ex.arn("rds", ex.dest, f"db:{params['target_instance']}"),
    }
    config = {"dbInstanceArnMap": arns, "timeoutMinutes": _minutes(step)}
    return "RdsPromoteReadReplica", {"rdsPromoteReadReplicaConfig": config}


def _routing_control(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    arn = ex.bound(params.get("routing_control"))
    if arn is None:
        return _fallback(ex, step, f"routing control {params.get('routing_control')!r}")
    state = str(params.get("state", "Off"))
    control = {"routingControlArn": arn, "state": state}
    fronts = ex.dest if state == "On" else ex.source  # On admits the target, Off drains the source
    config = {
        "regionAndRoutingControls": {fronts: [control]},
        "timeoutMinutes": _minutes(step),
    }
    return "ARCRoutingControl", {"arcRoutingControlConfig": config}


def _child_plan(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = ex.bound(step.get("params", {}).get("plan"))
    if arn is None:
        return _fallback(ex, step, f"Region switch plan {step.get('params', {}).get('plan')!r}")
    return "ARCRegionSwitchPlan", {"regionSwitchPlanConfig": {"arn": arn}}


def _health_check(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    zone = ex.bound(params.get("hosted_zone"))
    if zone is None or not params.get("record_name"):
        return _fallback(ex, step, f"hosted zone {params.get('hosted_zone')!r}")
    config = {
        "hostedZoneId": zone,
        "recordName": str(params["record_name"]),
        "timeoutMinutes": _minutes(step),
    }
    return "Route53HealthCheck", {"route53HealthCheckConfig": config}


def _asg(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = step.get("params", {}).get("asg")
    keys = [f"{name}@{region}" for region in (ex.source, ex.dest)]
    arns = [ex.bound(key) for key in keys]
    if not name or not all(arns):
        return _fallback(ex, step, " and ".join(keys) if name else "an asg param")
    config = {
        "asgs": [{"arn": arn} for arn in arns],
        "targetPercent": int(step.get("params", {}).get("percent_of_source", 100)),
        "timeoutMinutes": _minutes(step),
    }
    return "EC2AutoScaling", {"ec2AsgCapacityIncreaseConfig": config}


def _ecs(ex: _Export, step: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    params = step.get("params", {})
    cluster, service = params.get("cluster"), params.get("service")
    if not (cluster and service):
        return _fallback(ex, step, "cluster/service params")
    services = [
        {
            "clusterArn": ex.arn("ecs", region, f"cluster/{cluster}"),
            "serviceArn": ex.arn("ecs", region, f"service/{cluster}/{service}"),
        }
        for region in (ex.source, ex.dest)
    ]
    config = {
        "services": services,
        "targetPercent": int(params.get("percent_of_source", 100)),
        "timeoutMinutes": _minutes(step),
    }
    return "ECSServiceScaling", {"ecsCapacityIncreaseConfig": config}


_NATIVE = {
    "aurora.switchover": _aurora,
    "aurora.failover": _aurora,
    "rds.promote_replica": _rds_promote,
    "arc.routing_control": _routing_control,
    "arc.region_switch_plan": _child_plan,
    "route53.health_check": _health_check,
    "scale.asg": _asg,
    "scale.ecs": _ecs,
}


def _block(ex: _Export, step: dict[str, Any]) -> dict[str, Any]:
    kind = step["type"]
    if kind in ("approval", "manual"):
        gates = {a["id"]: a for a in ex.plan.get("approvals", [])}
        gate = gates.get(step.get("approval", ""), {})
        timeout = step if "timeout_s" in step or not gate else {"timeout_s": gate["timeout_s"]}
        block, config = (
            "ManualApproval",
            {
                "executionApprovalConfig": {
                    "approvalRole": ex.role(ex.target.approval_role),
                    "timeoutMinutes": _minutes(timeout),
                }
            },
        )
    else:
        block, config = _NATIVE.get(kind, _custom)(ex, step)
    return {
        "name": step["id"],
        "description": step["title"],
        "executionBlockType": block,
        "executionBlockConfiguration": config,
    }


def arc_export(plan: dict[str, Any], target: ArcTarget) -> tuple[dict[str, Any], list[str]]:
    """The ``CreatePlan`` request and notes on steps that fell back to a custom action."""
    if plan.get("in_region"):
        raise InputError(
            f"{plan['runbook']} acts inside one Region: it has no Region switch plan "
            "(use --format md or json)"
        )
    if plan.get("strategies") == ["backup_restore"]:
        raise InputError(
            f"{plan['runbook']} is backup and restore, which has no Region switch plan "
            "(use --format md or json)"
        )
    ex = _Export(plan, target)
    steps: list[dict[str, Any]] = []
    for index, group in enumerate(plan["groups"]):
        blocks = [_block(ex, step) for step in group["steps"]]
        if len(blocks) == 1:
            steps.append(blocks[0])
        else:
            steps.append(
                {
                    "name": f"parallel-{index + 1}",
                    "description": "Steps without mutual dependencies",
                    "executionBlockType": "Parallel",
                    "executionBlockConfiguration": {"parallelConfig": {"steps": blocks}},
                }
            )
    request = {
        "name": plan["runbook"][:32].rstrip("-"),
        "description": f"{plan['title']} (runbook v{plan['version']}, "
        f"sha256 {plan['sha256'][:12]})",
        "executionRole": ex.role(target.execution_role),
        "regions": [ex.source, ex.dest],
        "recoveryApproach": "activePassive",
        "primaryRegion": ex.source,
        "recoveryTimeObjectiveMinutes": min(10080, max(1, plan["rto_budget_s"] // 60)),
        "workflows": [
            {
                "workflowTargetAction": "activate",
                "workflowTargetRegion": ex.dest,
                "workflowDescription": f"Activate {ex.dest}",
                "steps": steps,
            }
        ],
    }
    return request, ex.notes


def to_arc_plan(plan: dict[str, Any], target: ArcTarget) -> dict[str, Any]:
    return arc_export(plan, target)[0]


def render_arc(plan: dict[str, Any], target: ArcTarget) -> str:
    return json.dumps(to_arc_plan(plan, target), indent=2, sort_keys=True) + "\n"
