"""The decision procedure of domain.md 1.3, scenario by scenario, through the versioned tool."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agents.dr.advisor import Thresholds, band
from agentkit.errors import ToolInputInvalid
from agentkit.tools.registry import ToolRegistry


@pytest.fixture(scope="module")
def tools() -> ToolRegistry:
    return ToolRegistry.from_directory()


def request(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workload": "payments-api",
        "rto_minutes": 60,
        "rpo_minutes": 15,
        "primary_region": "eu-west-1",
        "residency": ["eu"],
        "data_stores": [],
        "compute": [],
    }
    base.update(fields)
    return base


def codes(advice: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in advice["flags"]}


@pytest.mark.parametrize(
    ("rto", "rpo", "strategy"),
    [
        (20, 10 / 60, "warm_standby"),  # domain.md examples
        (480, 30, "pilot_light"),
        (480, 120, "backup_restore"),
        (2, 30, "multi_site_active_active"),
        (30, 5, "pilot_light"),
        (4.99, 600, "multi_site_active_active"),  # boundaries: "<" is strict
        (5, 600, "warm_standby"),
        (29.9, 600, "warm_standby"),
        (30, 0.99, "warm_standby"),
        (30, 1, "pilot_light"),
        (240, 59, "pilot_light"),
        (240, 60, "backup_restore"),
        (1440, 0, "multi_site_active_active"),  # RPO 0 alone
    ],
)
def test_band_rule(tools: ToolRegistry, rto: float, rpo: float, strategy: str) -> None:
    assert band(rto, rpo)[0] == strategy
    advice = tools.call("dr_advisor", request(rto_minutes=rto, rpo_minutes=rpo)).output
    assert advice["strategy"] == strategy
    assert advice["target_regions"]
    assert advice["target_regions"][0].startswith("eu-")


def test_thresholds_are_configurable() -> None:
    assert band(45, 600, Thresholds(warm_rto_min=60))[0] == "warm_standby"


def test_tier_0_is_at_least_warm_standby(tools: ToolRegistry) -> None:
    advice = tools.call("dr_advisor", request(rto_minutes=480, rpo_minutes=120, tier=0)).output
    assert (advice["band_strategy"], advice["strategy"]) == ("backup_restore", "warm_standby")
    assert "tier 0" in advice["rationale"]


def test_residency_with_one_region_is_not_native_regional_dr(tools: ToolRegistry) -> None:
    advice = tools.call(
        "dr_advisor", request(residency=["eu-west-1"], rto_minutes=15, rpo_minutes=1)
    ).output
    assert codes(advice) == {"REGIONAL_DR_NOT_NATIVE"}
    assert advice["strategy"] == "backup_restore"
    assert advice["target_regions"] == []


def test_candidates_outside_residency_and_partition_are_excluded(tools: ToolRegistry) -> None:
    advice = tools.call(
        "dr_advisor", request(candidate_regions=["us-east-1", "eusc-de-east-1", "eu-central-1"])
    ).output
    assert advice["target_regions"] == ["eu-central-1"]
    reasons = {e["region"]: e["reason"] for e in advice["excluded_regions"]}
    assert "residency" in reasons["us-east-1"]
    assert "partition aws-eusc" in reasons["eusc-de-east-1"]


def test_cross_partition_only_candidates_mean_backup_restore_out_of_band(
    tools: ToolRegistry,
) -> None:
    advice = tools.call(
        "dr_advisor",
        request(primary_region="us-gov-west-1", residency=[], candidate_regions=["us-east-1"]),
    ).output
    assert codes(advice) == {"REGIONAL_DR_NOT_NATIVE"}
    assert "cross-partition-recovery" in advice["runbooks"]
    assert advice["partition"] == "aws-us-gov"


def test_default_candidates_stay_in_partition_and_residency(tools: ToolRegistry) -> None:
    advice = tools.call("dr_advisor", request(primary_region="us-gov-west-1", residency=[])).output
    assert advice["target_regions"] == ["us-gov-east-1"]


def test_rpo_zero_with_unplanned_aurora_failover_is_flagged(tools: ToolRegistry) -> None:
    stores = [{"name": "orders", "type": "aurora"}, {"name": "carts", "type": "dynamodb"}]
    advice = tools.call(
        "dr_advisor", request(rto_minutes=10, rpo_minutes=0, data_stores=stores)
    ).output
    assert advice["strategy"] == "multi_site_active_active"
    assert "RPO0_UNACHIEVABLE" in codes(advice)
    by_name = {s["name"]: s for s in advice["data_stores"]}
    assert by_name["carts"]["service"] == "DynamoDB global tables (MRSC)"
    assert by_name["carts"]["expected_rpo_seconds"] == 0
    planned = tools.call(
        "dr_advisor",
        request(
            rto_minutes=10, rpo_minutes=0, data_stores=stores, unplanned_failover_in_scope=False
        ),
    ).output
    assert "RPO0_UNACHIEVABLE" not in codes(planned)


def test_per_store_mapping_and_backups(tools: ToolRegistry) -> None:
    stores = [
        {"name": n, "type": n} for n in ("aurora", "rds", "dynamodb", "s3", "elasticache", "ec2-db")
    ]
    advice = tools.call(
        "dr_advisor", request(rto_minutes=20, rpo_minutes=5, data_stores=stores)
    ).output
    services = {s["type"]: s["service"] for s in advice["data_stores"]}
    assert services["aurora"] == "Aurora Global Database"
    assert services["rds"] == "RDS cross-Region read replica"
    assert services["dynamodb"] == "DynamoDB global tables (MREC)"
    assert services["s3"].startswith("S3 Cross-Region Replication")
    assert services["elasticache"].startswith("ElastiCache Global Datastore")
    assert services["ec2-db"] == "AWS Elastic Disaster Recovery"
    assert all(s["backup"] == "AWS Backup cross-Region copy" for s in advice["data_stores"])
    assert "S3_RPO_BELOW_RTC" in codes(advice)  # RPO 5 min < S3 RTC's 15


def test_s3_with_rpo_at_rtc_is_not_flagged(tools: ToolRegistry) -> None:
    advice = tools.call(
        "dr_advisor",
        request(rto_minutes=120, rpo_minutes=15, data_stores=[{"name": "b", "type": "s3"}]),
    ).output
    assert "S3_RPO_BELOW_RTC" not in codes(advice)


def test_backup_restore_maps_stores_to_backups(tools: ToolRegistry) -> None:
    advice = tools.call(
        "dr_advisor",
        request(rto_minutes=600, rpo_minutes=120, data_stores=[{"name": "o", "type": "aurora"}]),
    ).output
    (store,) = advice["data_stores"]
    assert store["service"].startswith("AWS Backup cross-Region copy")
    assert store["expected_rpo_seconds"] == 300
    assert advice["cost_tier"] == "$"


def test_modifiers_drs_odcr_and_serverless_pilot_light(tools: ToolRegistry) -> None:
    ec2 = tools.call(
        "dr_advisor",
        request(
            rto_minutes=120, rpo_minutes=30, compute=[{"type": "ec2"}], budget_sensitivity="high"
        ),
    ).output
    assert ec2["strategy"] == "pilot_light"
    assert any("Elastic Disaster Recovery" in c for c in ec2["compute"])
    assert any("Capacity Reservations" in c for c in ec2["compute"])
    lam = tools.call(
        "dr_advisor", request(rto_minutes=120, rpo_minutes=30, compute=[{"type": "lambda"}])
    ).output
    assert "PILOT_LIGHT_SERVERLESS" in codes(lam)


def test_bedrock_profile_advice_respects_residency(tools: ToolRegistry) -> None:
    geo = tools.call("dr_advisor", request()).output
    assert geo["bedrock"]["profile"].startswith("eu. geographic")
    narrow = tools.call("dr_advisor", request(residency=["eu-west-1", "eu-central-1"])).output
    assert narrow["bedrock"]["profile"].startswith("in-Region model IDs")
    wide = tools.call("dr_advisor", request(allow_global_cris=True)).output
    assert wide["bedrock"]["profile"].startswith("global.")


def test_runbooks_match_the_stores(tools: ToolRegistry) -> None:
    stores = [{"name": "o", "type": "aurora"}, {"name": "c", "type": "dynamodb"}]
    advice = tools.call(
        "dr_advisor", request(rto_minutes=15, rpo_minutes=1, data_stores=stores)
    ).output
    assert advice["runbooks"] == [
        "arc-traffic-shift",
        "aurora-global-failover",
        "dynamodb-region-evacuation",
        "bedrock-region-evacuation",
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rto_minutes": 0}, "exclusiveMinimum"),
        ({"rpo_minutes": -1}, "minimum"),
        ({"primary_region": "eu-west-9"}, "unknown Region 'eu-west-9'"),
        ({"candidate_regions": ["mars-1"]}, "pattern|unknown Region"),
        ({"residency": ["atlantis"]}, "neither a geography"),
        ({"data_stores": [{"name": "x", "type": "mongodb"}]}, "mongodb"),
    ],
)
def test_invalid_requests_never_reach_the_procedure(
    tools: ToolRegistry, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolInputInvalid, match=message):
        tools.call("dr_advisor", request(**fields))


@pytest.mark.parametrize(
    ("primary", "target"),
    [
        ("ap-southeast-2", "ap-southeast-4"),
        ("ap-northeast-1", "ap-northeast-3"),
        ("us-east-1", "us-east-2"),
        ("eu-west-1", "eu-west-2"),
        ("eu-central-1", "eu-central-2"),
    ],
)
def test_default_recovery_region_is_the_nearest(
    tools: ToolRegistry, primary: str, target: str
) -> None:
    advice = tools.call("dr_advisor", request(primary_region=primary, residency=[])).output
    assert advice["target_regions"] == [target]
