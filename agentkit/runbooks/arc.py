"""Export a runbook plan as an AWS ARC Region switch ``CreatePlan`` request skeleton.

Every execution block gets the configuration shape the ARC API requires; identifiers agentkit
cannot know (role ARNs, Lambda ARNs, cluster ARNs) are ``<REPLACE: ...>`` markers to fill in.
The output validates against botocore's ``arc-region-switch`` service model.
"""

from __future__ import annotations

import json
from typing import Any

ROLE = "<REPLACE: arn:aws:iam::ACCOUNT:role/region-switch>"


def _minutes(step: dict[str, Any], default: int = 60) -> int:
    return max(1, -(-int(step.get("timeout_s", default * 60)) // 60))


def _region_to_run(step: dict[str, Any]) -> str:
    return (
        "deactivatingRegion"
        if step.get("run_in") in ("deactivating", "source")
        else "activatingRegion"
    )


def _block(step: dict[str, Any], regions: dict[str, str]) -> dict[str, Any]:
    kind, params, name = step["type"], step.get("params", {}), step["id"]
    if kind in ("approval", "manual"):
        config = {
            "executionApprovalConfig": {"approvalRole": ROLE, "timeoutMinutes": _minutes(step)}
        }
        block = "ManualApproval"
    elif kind in ("aurora.switchover", "aurora.failover"):
        config = {
            "globalAuroraConfig": {
                "behavior": "failover" if kind == "aurora.failover" else "switchoverOnly",
                "globalClusterIdentifier": params.get(
                    "global_cluster", "<REPLACE: global cluster id>"
                ),
                "databaseClusterArns": [
                    "<REPLACE: source cluster ARN>",
                    "<REPLACE: target cluster ARN>",
                ],
                "timeoutMinutes": _minutes(step),
            }
        }
        block = "AuroraGlobalDatabase"
    elif kind == "arc.routing_control":
        control = {
            "routingControlArn": f"<REPLACE: routing control {params.get('routing_control')}>",
            "state": params.get("state", "Off"),
        }
        config = {
            "arcRoutingControlConfig": {
                "regionAndRoutingControls": {regions["source"]: [control]},
                "timeoutMinutes": _minutes(step),
            }
        }
        block = "ARCRoutingControl"
    elif kind == "arc.region_switch_plan":
        config = {"regionSwitchPlanConfig": {"arn": f"<REPLACE: plan {params.get('plan')}>"}}
        block = "ARCRegionSwitchPlan"
    elif kind == "scale.asg":
        asgs = [{"arn": f"<REPLACE: ASG ARN in {regions[side]}>"} for side in ("source", "target")]
        config = {
            "ec2AsgCapacityIncreaseConfig": {
                "asgs": asgs,
                "targetPercent": int(params.get("percent_of_source", 100)),
                "timeoutMinutes": _minutes(step),
            }
        }
        block = "EC2AutoScaling"
    elif kind == "scale.ecs":
        services = [
            {
                "clusterArn": f"<REPLACE: cluster ARN in {regions[side]}>",
                "serviceArn": f"<REPLACE: service ARN in {regions[side]}>",
            }
            for side in ("source", "target")
        ]
        config = {
            "ecsCapacityIncreaseConfig": {
                "services": services,
                "targetPercent": int(params.get("percent_of_source", 100)),
                "timeoutMinutes": _minutes(step),
            }
        }
        block = "ECSServiceScaling"
    else:  # agentkit actions, Lambda custom actions, DynamoDB, tools: a custom action Lambda
        config = {
            "customActionLambdaConfig": {
                "lambdas": [
                    {
                        "arn": f"<REPLACE: Lambda ARN for {kind} {name}>",
                        "payload": json.dumps(params, sort_keys=True),
                    }
                ],
                "retryIntervalMinutes": 1.0,
                "regionToRun": _region_to_run(step),
                "timeoutMinutes": _minutes(step),
            }
        }
        block = "CustomActionLambda"
    return {
        "name": name,
        "description": step["title"],
        "executionBlockType": block,
        "executionBlockConfiguration": config,
    }


def to_arc_plan(plan: dict[str, Any]) -> dict[str, Any]:
    regions = plan["regions"]
    steps: list[dict[str, Any]] = []
    for index, group in enumerate(plan["groups"]):
        blocks = [_block(step, regions) for step in group["steps"]]
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
    return {
        "name": plan["runbook"],
        "description": f"{plan['title']} (runbook v{plan['version']}, "
        f"sha256 {plan['sha256'][:12]})",
        "executionRole": ROLE,
        "regions": [regions["source"], regions["target"]],
        "recoveryApproach": "activePassive",
        "primaryRegion": regions["source"],
        "recoveryTimeObjectiveMinutes": max(1, plan["rto_budget_s"] // 60),
        "workflows": [
            {
                "workflowTargetAction": "activate",
                "workflowTargetRegion": regions["target"],
                "workflowDescription": f"Activate {regions['target']}",
                "steps": steps,
            }
        ],
    }


def render_arc(plan: dict[str, Any]) -> str:
    return json.dumps(to_arc_plan(plan), indent=2, sort_keys=True) + "\n"
