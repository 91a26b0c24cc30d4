"""Runbook steps that operator overrides carry out: the plan prints the ``agentkit ops`` command,
and the ARC export's custom action carries the change for the action Lambda."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.ops.steps import step_action
from agentkit.runbooks import load_all, plan
from agentkit.runbooks.arc import ArcTarget, to_arc_plan
from agentkit.runbooks.plan import render_markdown


@pytest.mark.parametrize(
    ("step_type", "params", "command"),
    [
        ("agent.kill_switch", {"state": "on"}, "agentkit ops set kill_switch=on"),
        ("agent.kill_switch", {"state": "off"}, "agentkit ops clear kill_switch"),
        (
            "agent.kill_switch",
            {"command": "aws ssm put-parameter --name /x --value off --overwrite"},
            "agentkit ops clear kill_switch",
        ),
        ("bedrock.clamp_max_tokens", {"max_tokens": 1024}, "agentkit ops set max_tokens=1024"),
        ("bedrock.clamp_max_tokens", {"max_tokens": "default"}, "agentkit ops clear max_tokens"),
        ("bedrock.profile_switch", {"pin": "us-west-2"}, "agentkit ops set pin=us-west-2"),
        ("bedrock.model_switch", {"pin": "none"}, "agentkit ops clear pin"),
        (
            "tool.route",
            {"tool": "inventory", "to_tool": "inventory_cache"},
            "agentkit ops set tool.inventory=inventory_cache",
        ),
    ],
)
def test_a_step_becomes_the_ops_command(
    step_type: str, params: dict[str, Any], command: str
) -> None:
    action = step_action(step_type, params)
    assert action is not None
    assert action.command() == command


@pytest.mark.parametrize(
    ("step_type", "params"),
    [
        ("agent.kill_switch", {"agent": "orders-agent"}),  # no state to read
        ("bedrock.clamp_max_tokens", {"max_tokens": "lots"}),
        ("bedrock.profile_switch", {"profile": "geographic"}),  # routes, not a pin
        ("tool.route", {"tool": "inventory", "to_version": "1.x-fallback"}),
        ("aurora.failover", {"max_tokens": 5}),
    ],
)
def test_other_steps_keep_their_own_command(step_type: str, params: dict[str, Any]) -> None:
    assert step_action(step_type, params) is None


def test_the_plan_and_the_arc_export_carry_the_override() -> None:
    runbook = next(rb for rb in load_all() if rb.id == "bedrock-region-evacuation")
    planned = plan(runbook, "us-east-1", "us-west-2")
    markdown = render_markdown(planned)
    assert "agentkit: `agentkit ops set max_tokens=1024`" in markdown
    assert "(agentkit: `agentkit ops clear max_tokens`)" in markdown  # the rollback step
    request = to_arc_plan(planned, ArcTarget(account="111122223333"))
    payloads = [
        json.loads(lam["payload"])
        for workflow in request["workflows"]
        for step in workflow["steps"]
        for lam in step["executionBlockConfiguration"]
        .get("customActionLambdaConfig", {})
        .get("lambdas", [])
    ]
    by_step = {p["step"]: p for p in payloads}
    assert by_step["clamp_tokens"]["ops"] == {"action": "set", "set": {"max_tokens": "1024"}}
    assert by_step["geo_profile"]["ops"] == {"action": "set", "set": {"pin": "us-west-2"}}
    assert "agentkit: `agentkit ops set pin=us-west-2`" in markdown
    assert "(agentkit: `agentkit ops clear pin`)" in markdown  # restore_profile
