"""The DR advisor's estimated monthly cost: the priced building blocks of the standby it
recommends (hand-computed from the seeds' prices), what it does not price, its assumptions."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agents.dr.answer import render_answer
from agentkit.agents.tools import builtin_registry
from agentkit.tools.registry import ToolRegistry

# The seeds' prices (prices-v1): a Region switch plan $70 a month; a basic Route 53 health check
# of an AWS endpoint $0.50 a month.
PLAN, CHECK = 70.0, 0.5


@pytest.fixture(scope="module")
def tools() -> ToolRegistry:
    return builtin_registry()


def advise(tools: ToolRegistry, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"workload": "payments-api", "primary_region": "us-east-1"}
    request.update(fields)
    return dict(tools.call("dr_advisor", request).output)  # validated against 2.3.0


def test_warm_standby_prices_the_region_switch_plan_and_two_health_checks(
    tools: ToolRegistry,
) -> None:
    advice = advise(
        tools,
        rto_minutes=15,
        rpo_minutes=1,
        data_stores=[{"name": "ledger", "type": "aurora"}, {"name": "carts", "type": "dynamodb"}],
    )
    assert advice["strategy"] == "warm_standby"
    cost = advice["estimated_monthly_cost"]
    assert cost["usd"] == PLAN + 2 * CHECK == 71.0
    assert [(i["item"], i["quantity"], i["usd"]) for i in cost["items"]] == [
        ("ARC Region switch plan", 1, 70.0),
        ("Route 53 health check of an AWS endpoint (30 s interval)", 2, 1.0),
    ]
    assert cost["prices"] == "prices-v1, read 2026-12-07"
    assert all(i["source"].startswith("https://aws.amazon.com/blogs/") for i in cost["items"])
    assert cost["not_priced"] == [
        "the standby itself: a scaled-down, fully working stack in the recovery Region",
        "the Aurora Global Database secondary cluster and its replication",
        "DynamoDB global tables' replicated writes and storage in the recovery Region",
    ]
    said = " ".join(cost["assumptions"])
    assert "one basic health check per Region (us-east-1, " in said
    assert "add $1.00 a month each per check" in said
    assert "a floor" in cost["covers"]


def test_active_active_prices_a_health_check_per_region_and_says_routing_controls_are_not(
    tools: ToolRegistry,
) -> None:
    advice = advise(tools, rto_minutes=2, rpo_minutes=30, data_stores=[])
    assert advice["strategy"] == "multi_site_active_active"
    regions = 1 + len(advice["target_regions"])
    cost = advice["estimated_monthly_cost"]
    assert cost["usd"] == regions * CHECK
    assert "Route 53 ARC routing control clusters" in cost["not_priced"]
    assert all("Region switch" not in i["item"] for i in cost["items"])


def test_backup_and_restore_has_no_priced_block(tools: ToolRegistry) -> None:
    advice = advise(
        tools, rto_minutes=8 * 60, rpo_minutes=120, data_stores=[{"name": "t", "type": "dynamodb"}]
    )
    assert advice["strategy"] == "backup_restore"
    cost = advice["estimated_monthly_cost"]
    assert cost["usd"] == 0
    assert cost["items"] == []  # no Region switch plan; DNS is pointed by hand after a restore
    assert cost["not_priced"][0].startswith("the standby itself: backups")


def test_outside_the_commercial_partition_nothing_is_priced(tools: ToolRegistry) -> None:
    advice = advise(
        tools,
        primary_region="us-gov-west-1",
        rto_minutes=60,
        rpo_minutes=5,
        data_stores=[{"name": "t", "type": "dynamodb"}],
    )
    assert advice["strategy"] == "pilot_light"
    cost = advice["estimated_monthly_cost"]
    assert cost["usd"] == 0
    assert cost["items"] == []
    assert "the ARC Region switch plan in partition aws-us-gov" in cost["not_priced"]
    assert "Route 53 health checks in partition aws-us-gov" in cost["not_priced"]


def test_odcr_is_named_with_the_savings_plan_discount(tools: ToolRegistry) -> None:
    advice = advise(
        tools,
        rto_minutes=120,
        rpo_minutes=10,
        data_stores=[{"name": "t", "type": "dynamodb"}],
        compute=[{"type": "ec2"}],
    )
    assert advice["strategy"] == "pilot_light"
    assert any(
        "Savings Plans take up to 72% off" in n
        for n in advice["estimated_monthly_cost"]["not_priced"]
    )


def test_the_answer_gives_the_cost_next_to_the_cost_tier(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=15, rpo_minutes=1, data_stores=[])
    text = render_answer(advice, {"runbooks": []}, {})
    assert (
        "**Recommended strategy: Warm standby** (cost tier $$$; estimated $71.00 a month for the "
        "priced building blocks)." in text
    )
    assert "Estimated monthly cost (prices-v1, read 2026-12-07): $71.00" in text
    assert "- ARC Region switch plan: 1 x $70.00 = $70.00" in text
    assert "- not priced: the standby itself" in text
