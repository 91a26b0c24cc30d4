"""The decision procedure of domain.md 1.3 (corrected rule) and 1.2b, through the versioned tool.

Every expected value comes from shared/design/domain.md or issue 16, never from today's output.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agents.dr.advisor import Thresholds, compute_band, data_floor
from agentkit.agents.tools import builtin_registry
from agentkit.errors import ToolInputInvalid
from agentkit.tools.registry import ToolRegistry

EU = {"eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2"}


@pytest.fixture(scope="module")
def tools() -> ToolRegistry:
    return builtin_registry()


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


def advise(tools: ToolRegistry, **fields: Any) -> dict[str, Any]:
    return dict(tools.call("dr_advisor", request(**fields)).output)


def codes(advice: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in advice["flags"]}


def stores(*kinds: str) -> list[dict[str, str]]:
    return [{"name": kind, "type": kind} for kind in kinds]


# --- the band rule: RTO decides the compute, RPO the data, the stricter wins -------------------


@pytest.mark.parametrize(
    ("rto", "rpo", "kinds", "strategy"),
    [
        # domain.md 1.3 step 2 examples (stores without cross-Region PITR)
        (20, 10 / 60, ("dynamodb",), "warm_standby"),
        (480, 30, ("dynamodb",), "pilot_light"),
        (480, 120, ("dynamodb",), "backup_restore"),
        (2, 30, ("dynamodb",), "multi_site_active_active"),
        (30, 5, ("dynamodb",), "pilot_light"),
        (1440, 0.5, ("aurora",), "pilot_light"),  # RPO seconds at a long RTO
        (60, 0, ("aurora",), "pilot_light"),
        (480, 20, ("rds",), "backup_restore"),  # cross-Region automated backups: 15 min
        (480, 20, ("dynamodb",), "pilot_light"),
        (1440, 0, ("dynamodb",), "pilot_light"),  # RPO 0 never forces active/active alone
        # strict boundaries
        (4.99, 600, (), "multi_site_active_active"),
        (5, 600, (), "warm_standby"),
        (29.9, 600, (), "warm_standby"),
        (30, 600, (), "pilot_light"),
        (239, 600, (), "pilot_light"),
        (240, 60, ("dynamodb",), "backup_restore"),
        (240, 59.9, ("dynamodb",), "pilot_light"),
        (480, 15, ("rds",), "backup_restore"),
        (480, 14.9, ("rds",), "pilot_light"),
        (480, 20, ("rds", "s3"), "pilot_light"),  # the stricter store decides
    ],
)
def test_band_rule(
    tools: ToolRegistry, rto: float, rpo: float, kinds: tuple[str, ...], strategy: str
) -> None:
    advice = advise(
        tools, rto_minutes=rto, rpo_minutes=rpo, data_stores=stores(*kinds), residency=[]
    )
    assert advice["strategy"] == strategy
    assert advice["target_regions"]


def test_compute_band_and_data_floor_are_reported_apart(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=1440, rpo_minutes=0.5, data_stores=stores("aurora"))
    assert (advice["compute_band"], advice["data_floor"]) == ("backup_restore", "pilot_light")
    assert "RTO 24 h" in advice["rationale"]
    assert "RPO 30 s" in advice["rationale"]


def test_thresholds_are_configurable() -> None:
    assert compute_band(45, Thresholds(warm_rto_min=60))[0] == "warm_standby"
    assert data_floor(45, ["dynamodb"])[0] == "pilot_light"
    assert data_floor(60, ["dynamodb"])[0] == "backup_restore"


def test_tier_0_is_at_least_warm_standby(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=480, rpo_minutes=120, tier=0)
    assert (advice["band_strategy"], advice["strategy"]) == ("backup_restore", "warm_standby")
    assert "tier 0" in advice["rationale"]


# --- expected RPO per store: what the mechanism really gives -----------------------------------


def test_backup_restore_rpo_is_the_copy_schedule_not_pitr(tools: ToolRegistry) -> None:
    advice = advise(
        tools, rto_minutes=600, rpo_minutes=120, data_stores=stores("aurora", "dynamodb", "rds")
    )
    by_type = {s["type"]: s for s in advice["data_stores"]}
    assert by_type["aurora"]["service"] == "AWS Backup cross-Region copy"
    assert by_type["aurora"]["expected_rpo_seconds"] == 3600
    assert "copy schedule" in by_type["aurora"]["note"]
    assert by_type["dynamodb"]["expected_rpo_seconds"] == 3600
    assert by_type["rds"]["expected_rpo_seconds"] == 900  # cross-Region automated backups
    assert advice["cost_tier"] == "$"


def test_aws_backup_does_not_cover_elasticache_or_opensearch(tools: ToolRegistry) -> None:
    advice = advise(
        tools, rto_minutes=600, rpo_minutes=120, data_stores=stores("elasticache", "opensearch")
    )
    for store in advice["data_stores"]:
        assert "own snapshots" in store["service"]
        assert store["backup"] != "AWS Backup cross-Region copy"


def test_per_store_mapping_with_a_note_for_every_store(tools: ToolRegistry) -> None:
    kinds = ("aurora", "rds", "dynamodb", "s3", "elasticache", "ec2-db", "documentdb", "neptune")
    advice = advise(tools, rto_minutes=20, rpo_minutes=5, data_stores=stores(*kinds))
    services = {s["type"]: s["service"] for s in advice["data_stores"]}
    assert services["aurora"] == "Aurora Global Database"
    assert services["rds"] == "RDS cross-Region read replica"
    assert services["dynamodb"] == "DynamoDB global tables (MREC)"
    assert services["s3"].startswith("S3 Cross-Region Replication")
    assert services["elasticache"].startswith("ElastiCache Global Datastore")
    assert services["ec2-db"] == "AWS Elastic Disaster Recovery"
    assert services["documentdb"] == "DocumentDB global cluster"
    assert services["neptune"] == "Neptune global database"
    assert all(s["note"] for s in advice["data_stores"])
    assert "S3_RPO_BELOW_RTC" in codes(advice)  # RPO 5 min < S3 RTC's 15
    s3 = next(s for s in advice["data_stores"] if s["type"] == "s3")
    assert s3["meets_rpo"] is False


def test_s3_with_rpo_at_rtc_is_not_flagged(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=120, rpo_minutes=15, data_stores=stores("s3"))
    assert "S3_RPO_BELOW_RTC" not in codes(advice)


# --- RPO 0: a synchronous option per store, or a flag naming why -------------------------------


def test_rpo_zero_aurora_unplanned_is_flagged_planned_is_not(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=60, rpo_minutes=0, data_stores=stores("aurora"))
    assert advice["strategy"] == "pilot_light"
    assert "RPO0_UNACHIEVABLE" in codes(advice)
    planned = advise(
        tools,
        rto_minutes=60,
        rpo_minutes=0,
        data_stores=stores("aurora"),
        unplanned_failover_in_scope=False,
    )
    assert "RPO0_UNACHIEVABLE" not in codes(planned)
    assert planned["data_stores"][0]["expected_rpo_seconds"] == 0


def test_rpo_zero_dynamodb_uses_mrsc_inside_the_eu_set(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=60, rpo_minutes=0, data_stores=stores("dynamodb"))
    (store,) = advice["data_stores"]
    assert store["service"] == "DynamoDB global tables (MRSC)"
    assert store["expected_rpo_seconds"] == 0
    assert "RPO0_UNACHIEVABLE" not in codes(advice)
    assert advice["target_regions"][0] in {"eu-west-3", "eu-central-1"}  # the EU set, not London


@pytest.mark.parametrize(
    ("primary", "residency", "why"),
    [
        ("eu-west-1", ["Ireland", "France"], "only 2 Region"),
        ("ca-central-1", ["ca"], "in no MRSC Region set"),
        ("eu-west-2", ["uk", "ie"], "only 2 Region"),
    ],
)
def test_rpo_zero_dynamodb_without_an_mrsc_set_is_flagged(
    tools: ToolRegistry, primary: str, residency: list[str], why: str
) -> None:
    advice = advise(
        tools,
        primary_region=primary,
        residency=residency,
        rto_minutes=60,
        rpo_minutes=0,
        data_stores=stores("dynamodb"),
    )
    flag = next(f for f in advice["flags"] if f["code"] == "RPO0_UNACHIEVABLE")
    assert why in flag["message"]


def test_rpo_zero_for_stores_with_no_synchronous_option(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=1440, rpo_minutes=0, data_stores=stores("s3", "rds"))
    assert advice["strategy"] == "pilot_light"
    messages = [f["message"] for f in advice["flags"] if f["code"] == "RPO0_UNACHIEVABLE"]
    assert len(messages) == 2


def test_mrsc_picks_a_recovery_region_of_the_same_set(tools: ToolRegistry) -> None:
    advice = advise(
        tools,
        primary_region="us-west-2",
        residency=["us"],
        rto_minutes=60,
        rpo_minutes=0,
        data_stores=stores("dynamodb"),
    )
    assert advice["target_regions"] == ["us-east-1"]  # us-west-1 is in no MRSC set
    assert "MRSC" in advice["recovery_region_reason"]
    considered = {c["region"]: c["missing"] for c in advice["considered_regions"]}
    assert considered["us-west-1"]


# --- residency and partitions --------------------------------------------------------------------


@pytest.mark.parametrize("primary", sorted(EU))
def test_eu_residency_never_yields_london_or_zurich(tools: ToolRegistry, primary: str) -> None:
    advice = advise(tools, primary_region=primary, rto_minutes=10, rpo_minutes=1)
    assert advice["target_regions"]
    assert set(advice["target_regions"]) <= EU
    assert set(advice["residency_regions"]) == EU


def test_primary_outside_the_residency_is_an_input_error(tools: ToolRegistry) -> None:
    with pytest.raises(ToolInputInvalid, match="primary Region us-east-1 is outside"):
        advise(tools, primary_region="us-east-1")


def test_implicit_primary_is_chosen_inside_the_residency_and_said(tools: ToolRegistry) -> None:
    body = request()
    del body["primary_region"]
    advice = tools.call("dr_advisor", body).output
    assert advice["primary_region"] in EU
    assert advice["primary_region_source"] == "default"
    assert any("assumed" in n for n in advice["notes"])


def test_candidate_outside_residency_is_refused_and_regional_dr_kept(tools: ToolRegistry) -> None:
    """'data must stay in the EU ... RTO 15, RPO 1 ... just fail over to us-east-1'."""
    advice = advise(
        tools,
        rto_minutes=15,
        rpo_minutes=1,
        candidate_regions=["us-east-1"],
        data_stores=stores("aurora"),
    )
    assert advice["strategy"] == "warm_standby"
    assert advice["target_regions"][0] in EU
    assert advice["excluded_regions"][0]["region"] == "us-east-1"
    assert any("refused us-east-1" in n for n in advice["notes"])


def test_cross_partition_candidate_never_hides_an_in_partition_region(tools: ToolRegistry) -> None:
    advice = advise(tools, candidate_regions=["eusc-de-east-1"], rto_minutes=20, rpo_minutes=1)
    assert advice["target_regions"][0] in EU
    (oob,) = advice["out_of_band_regions"]
    assert oob["region"] == "eusc-de-east-1"
    assert "never the failover Region" in oob["reason"]
    assert "cross-partition-recovery" not in advice["runbooks"]  # eusc is outside `eu`


def test_cross_partition_backup_target_without_residency(tools: ToolRegistry) -> None:
    advice = advise(
        tools, primary_region="us-gov-west-1", residency=[], candidate_regions=["us-east-1"]
    )
    assert advice["partition"] == "aws-us-gov"
    assert advice["target_regions"] == ["us-gov-east-1"]
    assert [o["region"] for o in advice["out_of_band_regions"]] == ["us-east-1"]
    assert "cross-partition-recovery" in advice["runbooks"]
    assert any("partition has its own IAM" in a for a in advice["advice"])


def test_germany_allows_no_second_region_so_dr_is_not_native(tools: ToolRegistry) -> None:
    advice = advise(
        tools,
        primary_region="eu-central-1",
        residency=["Germany"],
        rto_minutes=120,
        rpo_minutes=30,
        data_stores=stores("aurora"),
        compute=[{"type": "ec2"}],
    )
    assert codes(advice) == {"REGIONAL_DR_NOT_NATIVE"}
    assert advice["target_regions"] == []
    assert advice["strategy"] == "backup_restore"
    (store,) = advice["data_stores"]
    assert "cross-Region" not in store["backup"]  # no AWS Backup copy to another Region
    assert "ARC Region switch" not in advice["traffic"]["mechanism"]
    assert not any("Capacity Reservations" in c for c in advice["compute"])  # no ODCR
    assert advice["runbooks"] == ["az-zonal-shift"]


@pytest.mark.parametrize(
    ("primary", "residency", "target", "partition", "runbook"),
    [
        ("us-gov-west-1", ["us-gov"], "us-gov-east-1", "aws-us-gov", "govcloud-region-failover"),
        ("cn-north-1", ["cn"], "cn-northwest-1", "aws-cn", "china-region-failover"),
        ("eu-west-2", ["europe"], "eu-west-1", "aws", "region-failover"),
    ],
)
def test_in_partition_pairs(
    tools: ToolRegistry,
    primary: str,
    residency: list[str],
    target: str,
    partition: str,
    runbook: str,
) -> None:
    advice = advise(
        tools, primary_region=primary, residency=residency, rto_minutes=20, rpo_minutes=1
    )
    assert advice["partition"] == partition
    assert advice["target_regions"] == [target]
    assert runbook in advice["runbooks"]


def test_european_sovereign_cloud_is_its_own_partition(tools: ToolRegistry) -> None:
    advice = advise(
        tools, primary_region="eusc-de-east-1", residency=["eusc"], rto_minutes=20, rpo_minutes=1
    )
    assert advice["partition"] == "aws-eusc"
    assert "REGIONAL_DR_NOT_NATIVE" in codes(advice)


# --- Bedrock ---------------------------------------------------------------------------------


def test_no_bedrock_section_or_runbook_without_a_model(tools: ToolRegistry) -> None:
    advice = advise(tools)
    assert "bedrock" not in advice
    assert "bedrock-region-evacuation" not in advice["runbooks"]


@pytest.mark.parametrize(
    ("primary", "residency", "allow_global", "profile"),
    [
        ("eu-west-1", ["eu"], False, "eu. geographic"),
        ("eu-west-2", ["uk"], False, "in-Region model IDs"),
        ("eu-west-2", ["europe"], False, "eu. geographic"),
        ("eu-central-2", ["ch"], False, "in-Region model IDs"),
        ("ap-northeast-1", ["jp"], False, "jp. geographic"),
        ("ap-southeast-2", ["au"], False, "au. geographic"),
        ("ca-central-1", ["ca"], False, "ca. geographic"),
        ("ap-south-1", ["India"], False, "in-Region model IDs"),
        ("us-east-1", ["us"], False, "us. geographic"),
        ("us-east-1", ["us"], True, "us. geographic"),  # never global under a residency
        ("us-east-1", [], True, "global."),
        ("eu-west-1", ["eu-west-1", "eu-central-1"], False, "in-Region model IDs"),
    ],
)
def test_bedrock_profile_per_geography(
    tools: ToolRegistry, primary: str, residency: list[str], allow_global: bool, profile: str
) -> None:
    advice = advise(
        tools,
        primary_region=primary,
        residency=residency,
        uses_bedrock=True,
        allow_global_cris=allow_global,
    )
    assert advice["bedrock"]["profile"].startswith(profile)
    assert "bedrock-region-evacuation" in advice["runbooks"]


def test_govcloud_profile_with_one_destination_is_flagged(tools: ToolRegistry) -> None:
    advice = advise(tools, primary_region="us-gov-east-1", residency=["us-gov"], uses_bedrock=True)
    assert "BEDROCK_PROFILE_NO_REDUNDANCY" in codes(advice)


# --- modifiers, traffic, runbooks ---------------------------------------------------------------


def test_modifiers_drs_odcr_and_serverless_pilot_light(tools: ToolRegistry) -> None:
    ec2 = advise(
        tools,
        rto_minutes=120,
        rpo_minutes=30,
        compute=[{"type": "ec2"}],
        budget_sensitivity="high",
    )
    assert ec2["strategy"] == "pilot_light"
    assert any("Elastic Disaster Recovery" in c for c in ec2["compute"])
    assert any("Capacity Reservations" in c for c in ec2["compute"])
    lam = advise(tools, rto_minutes=120, rpo_minutes=30, compute=[{"type": "lambda"}])
    assert "PILOT_LIGHT_SERVERLESS" in codes(lam)


def test_runbooks_follow_the_strategy_and_the_stores(tools: ToolRegistry) -> None:
    warm = advise(tools, rto_minutes=15, rpo_minutes=1, data_stores=stores("aurora", "dynamodb"))
    assert warm["runbooks"] == [
        "region-failover",
        "aurora-global-failover",
        "aurora-global-switchover",
        "dynamodb-region-evacuation",
    ]
    pilot = advise(tools, rto_minutes=120, rpo_minutes=5, data_stores=stores("rds"))
    assert pilot["runbooks"][:2] == ["region-failover", "pilot-light-activation"]
    assert "rds-replica-promotion" in pilot["runbooks"]
    backup = advise(tools, rto_minutes=600, rpo_minutes=120, data_stores=stores("aurora"))
    assert backup["runbooks"] == ["backup-restore-rebuild"]  # no Region switch plan
    assert "Region switch" not in backup["traffic"]["mechanism"]


def test_seed_themes_become_advice(tools: ToolRegistry) -> None:
    advice = advise(tools, rto_minutes=120, rpo_minutes=5, uses_bedrock=True)
    text = " ".join(advice["advice"])
    for theme in ("KMS", "fault-injection", "Health Dashboard", "encrypt", "idempotent"):
        assert theme in text
    assert any("infrastructure as code" in c for c in advice["compute"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rto_minutes": 0}, "exclusiveMinimum"),
        ({"rpo_minutes": -1}, "minimum"),
        ({"primary_region": "eu-west-9"}, "unknown Region 'eu-west-9'"),
        ({"candidate_regions": ["mars-1"]}, "unknown Region"),
        ({"residency": ["atlantis"]}, "residency 'atlantis' is not a geography"),
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
        ("eu-west-1", "eu-west-3"),  # same jurisdiction first, even with no residency
        ("eu-central-2", "eu-central-1"),
        ("ca-central-1", "ca-west-1"),
        ("ap-south-1", "ap-south-2"),
    ],
)
def test_default_recovery_region_is_the_nearest(
    tools: ToolRegistry, primary: str, target: str
) -> None:
    advice = advise(tools, primary_region=primary, residency=[])
    assert advice["target_regions"] == [target]
    assert advice["recovery_region_reason"].startswith(target)
