"""Residency and partitions from the Regions table, shared causes counted once, modes only where
the topology makes them possible, and controls that change the ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.errors import InputError
from agentkit.fmea.engine import Row, score
from agentkit.fmea.model import load_architecture, load_catalog
from agentkit.fmea.run import analyse

CATALOG = load_catalog()


def sheet(tmp_path: Path, components: list[dict[str, Any]], **extra: Any) -> list[Row]:
    doc = {
        "apiVersion": "agentkit/architecture/v2",
        "workload": {"name": "w", **extra.pop("workload", {})},
        "regions": extra.pop("regions", ["us-east-1"]),
        "components": components,
    }
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return score(load_architecture(path, CATALOG), CATALOG).rows


def modes(rows: list[Row], component: str) -> set[str]:
    return {r.mode_id for r in rows if component in r.affects}


def test_the_eu_agent_with_a_us_profile_a_us_replica_and_a_us_knowledge_base(
    tmp_path: Path,
) -> None:
    """The held-back architecture: residency rows for the profile, the bucket and the KB."""
    rows = sheet(
        tmp_path,
        [
            {
                "id": "agent",
                "kind": "bedrock-model",
                "profile": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "depends_on": ["kb"],
            },
            {"id": "docs", "kind": "s3", "replicas": ["us-east-1"]},
            {
                "id": "kb",
                "kind": "knowledge-base",
                "regions": ["us-west-2"],
                "depends_on": ["docs"],
            },
        ],
        regions=["eu-west-1"],
        workload={"residency": ["eu"]},
    )
    found = {r.component: r for r in rows if r.mode_id == "residency-breach"}
    assert set(found) == {"agent", "docs", "kb"}
    assert "us. profile called from eu-west-1" in found["agent"].cause
    assert "us-east-1" in found["agent"].cause
    assert "replica Region us-east-1" in found["docs"].cause
    assert "Region us-west-2" in found["kb"].cause
    assert all(r.severity >= 9 and r.action_priority == "H" for r in found.values())


def test_a_profile_whose_destinations_stay_inside_raises_no_residency_row(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {"id": "agent", "kind": "bedrock-model", "profile": "eu.anthropic.m"},
            {"id": "docs", "kind": "s3", "replicas": ["eu-central-1"]},
        ],
        regions=["eu-west-1"],
        workload={"residency": ["eu"]},
    )
    assert not [r for r in rows if r.mode_id == "residency-breach"]


def test_eu_profile_from_london_leaves_a_uk_residency(tmp_path: Path) -> None:
    """The destinations depend on the source Region: eu. from London routes into the EU."""
    rows = sheet(
        tmp_path,
        [{"id": "agent", "kind": "bedrock-model", "profile": "eu.anthropic.m"}],
        regions=["eu-west-2"],
        workload={"residency": ["uk"]},
    )
    (breach,) = [r for r in rows if r.mode_id == "residency-breach"]
    assert "eu. profile called from eu-west-2" in breach.cause


def test_a_global_profile_is_one_row_not_two(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [{"id": "llm", "kind": "bedrock-cris", "profile": "global.anthropic.m"}],
        regions=["eu-west-1"],
        workload={"residency": ["eu"]},
    )
    assert "global-residency" in modes(rows, "llm")
    assert "residency-breach" not in modes(rows, "llm")


def test_an_unreadable_residency_or_region_is_one_line_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"arch.yaml:\d+: workload.residency: residency 'atlantis'"
    ):
        sheet(tmp_path, [{"id": "a", "kind": "s3"}], workload={"residency": ["atlantis"]})
    with pytest.raises(InputError, match=r"components\[0\].replicas: unknown Region 'us-east-9'"):
        sheet(tmp_path, [{"id": "a", "kind": "s3", "replicas": ["us-east-9"]}])


def test_recovery_across_partitions_is_flagged_with_one_partition_row_each(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {"id": "db", "kind": "dynamodb-global", "regions": ["us-east-1", "us-gov-west-1"]},
            {"id": "net", "kind": "network"},
        ],
        regions=["us-east-1", "us-gov-west-1"],
    )
    assert "partition-crossing" in modes(rows, "db")
    assert "cross-partition-connectivity" in modes(rows, "net")
    events = [r for r in rows if r.mode_id == "partition-event"]
    assert sorted(r.item for r in events) == ["Partition aws", "Partition aws-us-gov"]
    same = sheet(
        tmp_path, [{"id": "db", "kind": "dynamodb-global", "regions": ["us-east-1", "us-west-2"]}]
    )
    assert "partition-crossing" not in modes(same, "db")


def test_a_region_event_is_one_row_holding_every_effect(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {"id": "db", "kind": "rds", "multi_az": True},
            {"id": "table", "kind": "dynamodb"},
            {"id": "files", "kind": "s3"},
            {"id": "queue", "kind": "sqs", "mitigations": ["dlq"]},
        ],
    )
    region = [r for r in rows if r.mode_id == "region-loss"]
    assert len(region) == 1
    (row,) = region
    assert row.item == "Region us-east-1"
    assert row.affects == ["db", "table", "files", "queue"]
    for text in ("Database outage", "Table unavailable", "Objects unreachable", "Messages"):
        assert text in row.effect
    assert row.severity == 8  # the worst member


def test_an_az_event_is_not_counted_twice(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {"id": "db", "kind": "rds", "multi_az": False},
            {"id": "api", "kind": "ecs", "multi_az": True, "depends_on": ["db"]},
        ],
    )
    assert "graph-spof" not in modes(rows, "db")
    (loss,) = [r for r in rows if r.component == "db" and r.mode_id == "instance-loss"]
    assert "single point of failure: 1 component(s) depend on it" in loss.effect


def test_components_in_one_az_share_one_az_row(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {"id": "db", "kind": "rds", "az": "use1-az1"},
            {"id": "cache", "kind": "elasticache", "az": "use1-az1"},
            {"id": "other", "kind": "ec2", "az": "use1-az2"},
        ],
    )
    az = {r.item: r.affects for r in rows if r.mode_id == "az-loss"}
    assert az == {"AZ use1-az1 (us-east-1)": ["db", "cache"], "AZ use1-az2 (us-east-1)": ["other"]}


def test_last_writer_wins_only_with_writers_in_several_regions(tmp_path: Path) -> None:
    table = {"id": "t", "kind": "dynamodb-global", "regions": ["us-east-1", "us-west-2"]}
    passive = sheet(tmp_path, [{**table, "writers": ["us-east-1"]}])
    assert "lww-overwrite" not in modes(passive, "t")
    active = sheet(tmp_path, [{**table, "writers": ["us-east-1", "us-west-2"]}])
    assert "lww-overwrite" in modes(active, "t")


def test_permission_drift_is_rated_by_its_controls(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-west-2"]
    plain = sheet(tmp_path, [{"id": "o", "kind": "agent-orchestration"}], regions=regions)
    (bare,) = [r for r in plain if r.mode_id == "permission-drift"]
    assert (bare.revised_action_priority, bare.revised_occurrence, bare.revised_detection) == (
        "H",
        3,
        7,
    )
    tested = sheet(
        tmp_path,
        [
            {
                "id": "o",
                "kind": "agent-orchestration",
                "mitigations": ["permission_parity_test", "access_analyzer"],
            }
        ],
        regions=regions,
    )
    (row,) = [r for r in tested if r.mode_id == "permission-drift"]
    assert (row.severity, row.occurrence, row.detection) == (9, 3, 7)  # before
    assert (row.revised_occurrence, row.revised_detection) == (2, 1)  # after
    assert row.revised_action_priority == "L"
    single = sheet(tmp_path, [{"id": "o", "kind": "agent-orchestration"}])
    assert "permission-drift" not in modes(single, "o")  # no failover environment


def test_unknown_controls_are_one_line_naming_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(
        InputError,
        match=r"arch.yaml:\d+: components\[0\].mitigations\[1\]: unknown control 'prayer'",
    ):
        sheet(tmp_path, [{"id": "a", "kind": "s3", "mitigations": ["alarms", "prayer"]}])


def test_controls_with_evidence_are_reported(tmp_path: Path) -> None:
    rows = sheet(
        tmp_path,
        [
            {
                "id": "tool",
                "kind": "mcp-tool",
                "mitigations": [{"control": "circuit_breaker", "evidence": ["tests/x.py::test_y"]}],
            }
        ],
    )
    (row,) = [r for r in rows if r.mode_id == "timeouts-cascade"]
    assert row.controls == ["circuit_breaker"]
    assert row.evidence == ["tests/x.py::test_y"]
    assert row.revisions == ["O -2: circuit_breaker"]
    assert row.status == "mitigated"


def test_ruled_out_modes_are_listed_in_the_report(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(
        "apiVersion: agentkit/architecture/v2\nworkload: {name: w}\ncomponents:\n"
        "  - {id: q, kind: sqs, mitigations: [dlq]}\n"
    )
    report = analyse(path, formats=("json",)).report
    assert {"component": "q", "mode_id": "poison-message", "control": "dlq"} in report["ruled_out"]


@pytest.mark.parametrize("kind", ["bedrock-cris", "bedrock-agent", "agentcore-runtime"])
def test_a_us_profile_on_any_model_kind_leaves_an_eu_residency(tmp_path: Path, kind: str) -> None:
    rows = sheet(
        tmp_path,
        [{"id": "agent", "kind": kind, "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}],
        regions=["eu-west-1"],
        workload={"residency": ["EU"]},
    )
    assert "residency-breach" in modes(rows, "agent")
