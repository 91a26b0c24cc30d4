"""The DR advisor plans an agent's own stores: Knowledge Bases, their vector stores, agent memory.

Each store type is a row of the data table (services-v1.json ``agent_stores``) with its Regional
DR mechanism, expected RPO and the AWS page each fact rests on; where no source was found the
row says so and the plan is the conservative one (rebuild in the recovery Region and re-sync from
the replicated data source).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.agents.dr import advisor
from agentkit.agents.dr.advisor import AGENT_STORES, advise, runbooks_for
from agentkit.agents.dr.parser import parse_requirements
from agentkit.paths import data_dir
from agentkit.regions import residency_regions
from agentkit.runbooks.model import load_all, runbook_dir
from agentkit.tools.contracts import load_contracts

NEW_TYPES = {
    "knowledge-base",
    "opensearch-serverless",
    "aurora-pgvector",
    "s3-vectors",
    "neptune-analytics",
    "pinecone",
    "redis-enterprise-cloud",
    "mongodb-atlas",
    "agentcore-memory",
}
EU = residency_regions(["eu"])


def ask(question: str) -> dict[str, Any]:
    """What the advisor answers to a question, through the deterministic parser."""
    req = parse_requirements(question)
    assert req.rto_minutes is not None
    assert req.rpo_minutes is not None
    request = {"workload": req.workload or "agent", **req.to_json()}
    request.pop("unknown_stores", None)
    return advise(request)


def store(advice: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [s for s in advice["data_stores"] if s["type"] == kind]
    return found


def test_a_knowledge_base_on_opensearch_serverless_in_ireland_stays_in_the_eu() -> None:
    advice = ask(
        "Our orders-kb Knowledge Base on OpenSearch Serverless runs in eu-west-1. RTO 1 hour, "
        "RPO 30 minutes. Data must stay in the EU."
    )
    assert advice["primary_region"] == "eu-west-1"
    assert EU is not None
    assert advice["target_regions"]
    assert set(advice["target_regions"]) <= EU
    kb = store(advice, "opensearch-serverless")
    assert [s["type"] for s in advice["data_stores"]] == ["opensearch-serverless"]
    assert "OpenSearch Serverless collection in the recovery Region" in kb["service"]
    assert "re-synced from the S3 CRR replica" in kb["service"]
    # Expected RPO: the data source's replication (S3 RTC, 15 min) plus the sync, so no figure
    # is promised, only the floor; the 30 min target is not ruled out.
    assert kb["expected_rpo_seconds"] is None
    assert kb["rpo_floor_seconds"] == 900
    assert kb["meets_rpo"] is None
    assert kb["managed_cross_region"] is None
    assert "restore only to their original collection" in kb["cross_region_finding"]
    assert any("serverless-snapshots" in url for url in kb["sources"])
    assert advice["runbooks"].index("kb-regional-failover") < advice["runbooks"].index(
        "kb-search-fallback"
    )
    flags = {f["code"] for f in advice["flags"]}
    assert "NO_MANAGED_CROSS_REGION" in flags


def test_every_new_store_type_has_a_row_with_sources() -> None:
    assert set(AGENT_STORES) == NEW_TYPES
    for kind, row in AGENT_STORES.items():
        assert row["sources"], kind
        for source in row["sources"]:
            assert source["url"].startswith("https://docs.aws.amazon.com/"), (kind, source)
            assert source["fact"], kind
        assert row["managed_cross_region"] in (True, False, None), kind
        for field in ("cross_region_finding", "rpo_basis", "service"):
            assert row[field], (kind, field)
        if row["managed_cross_region"] is not True:  # no source: the conservative plan
            assert row["expected_rpo_seconds"] is None, kind


def test_the_request_schema_accepts_every_new_store_type() -> None:
    contract = load_contracts(data_dir("tools"))["dr_advisor@2"]
    enum = contract.request_schema["properties"]["data_stores"]["items"]["properties"]["type"]
    assert set(enum["enum"]) >= NEW_TYPES
    assert contract.version == "2.3.0"


@pytest.mark.parametrize("kind", sorted(NEW_TYPES))
def test_each_store_type_gets_its_row_and_the_response_validates(kind: str) -> None:
    import jsonschema

    request = {
        "workload": "agent",
        "rto_minutes": 60,
        "rpo_minutes": 30,
        "primary_region": "eu-central-1",
        "residency": ["eu"],
        "uses_bedrock": True,
        "data_stores": [{"name": "x", "type": kind}],
    }
    advice = advise(request)
    (entry,) = advice["data_stores"]
    row = AGENT_STORES[kind]
    assert entry["service"] == row["service"]
    assert entry["sources"] == list(dict.fromkeys(s["url"] for s in row["sources"]))
    contract = load_contracts(data_dir("tools"))["dr_advisor@2"]
    jsonschema.validate(request, contract.request_schema)
    jsonschema.validate(advice, contract.response_schema)


def test_rpo_below_the_data_source_replication_is_flagged_not_promised() -> None:
    advice = ask("A knowledge base on S3 Vectors in eu-west-1, RTO 20 minutes, RPO 5 minutes")
    vectors = store(advice, "s3-vectors")
    assert vectors["meets_rpo"] is False
    assert any(f["code"] == "AGENT_STORE_RPO_BELOW_PLAN" for f in advice["flags"])


def test_rpo_zero_on_a_rebuilt_store_needs_approval() -> None:
    advice = ask("AgentCore Memory in us-east-1, RTO 30 minutes, RPO 0")
    memory = store(advice, "agentcore-memory")
    assert memory["meets_rpo"] is False
    assert "short-term events" in memory["note"]
    assert [a["code"] for a in advice["approval_required"]] == ["DATA_LOSS_ACCEPTED"]
    # The memory has its own runbook: a team-built rebuild from streamed records, no AWS failover.
    assert advice["strategy"] != "backup_restore"
    assert "agentcore-memory-regional-rebuild" in advice["runbooks"]
    assert AGENT_STORES["agentcore-memory"]["runbooks"]["failover"] == [
        "agentcore-memory-regional-rebuild"
    ]


def test_a_rebuilt_store_does_not_raise_the_band_but_aurora_pgvector_does() -> None:
    kb_only = ask("A knowledge base on OpenSearch Serverless, RTO 8 hours, RPO 30 minutes")
    assert kb_only["strategy"] == "backup_restore"
    assert "same way in every tier" in kb_only["rationale"]
    assert "kb-regional-failover" not in kb_only["runbooks"]
    assert "kb-search-fallback" in kb_only["runbooks"]
    pgvector = ask("Aurora PostgreSQL with pgvector, RTO 8 hours, RPO 5 minutes")
    assert pgvector["strategy"] == "pilot_light"
    entry = store(pgvector, "aurora-pgvector")
    assert entry["service"].startswith("Aurora Global Database")
    assert entry["managed_cross_region"] is True
    assert "aurora-global-failover" in pgvector["runbooks"]
    # In the backup tier the vectors come back by re-ingesting the replicated data source.
    backup = ask("Aurora PostgreSQL with pgvector, RTO 8 hours, RPO 1 hour")
    assert backup["strategy"] == "backup_restore"
    assert store(backup, "aurora-pgvector")["rpo_floor_seconds"] == 900


def test_every_runbook_an_agent_store_names_exists() -> None:
    known = {runbook.id for runbook in load_all(runbook_dir())}
    stores = [{"name": k, "type": k} for k in sorted(NEW_TYPES)]
    named = {
        r
        for strategy in ("backup_restore", "pilot_light", "warm_standby")
        for targets in ([], ["x"])
        for r in runbooks_for(
            {"strategy": strategy, "target_regions": targets, "partition": "aws"},
            {"data_stores": stores},
        )
    }
    assert {
        "kb-regional-failover",
        "kb-search-fallback",
        "agentcore-memory-regional-rebuild",
    } <= named
    assert named <= known, sorted(named - known)


@pytest.mark.parametrize(
    ("phrase", "kinds"),
    [
        ("our knowledge base", ["knowledge-base"]),
        ("Knowledge Bases for the support agent", ["knowledge-base"]),
        ("a knowledge base on OpenSearch Serverless", ["opensearch-serverless"]),
        ("Amazon OpenSearch Serverless vector collection", ["opensearch-serverless"]),
        ("Aurora PostgreSQL with pgvector", ["aurora-pgvector"]),
        ("Aurora PostgreSQL (pgvector) and DynamoDB", ["aurora-pgvector", "dynamodb"]),
        ("pgvector", ["aurora-pgvector"]),
        ("S3 Vectors", ["s3-vectors"]),
        ("an S3 vector bucket", ["s3-vectors"]),
        ("Neptune Analytics for GraphRAG", ["neptune-analytics"]),
        ("Pinecone", ["pinecone"]),
        ("Redis Enterprise Cloud", ["redis-enterprise-cloud"]),
        ("MongoDB Atlas", ["mongodb-atlas"]),
        ("AgentCore Memory", ["agentcore-memory"]),
        ("Amazon Bedrock AgentCore Memory", ["agentcore-memory"]),
    ],
)
def test_parser_maps_each_phrase_to_its_store_type(phrase: str, kinds: list[str]) -> None:
    req = parse_requirements(f"{phrase}, RTO 1 hour, RPO 30 minutes")
    assert [s["type"] for s in req.data_stores] == kinds
    assert req.unknown_stores == []


def test_the_existing_engines_still_parse_as_before() -> None:
    req = parse_requirements("Aurora MySQL, Redis, OpenSearch and Neptune; plain MongoDB")
    assert [s["type"] for s in req.data_stores] == [
        "aurora",
        "elasticache",
        "opensearch",
        "neptune",
    ]
    assert req.unknown_stores == ["mongodb"]


def test_the_data_table_is_valid_json_with_a_read_date() -> None:
    path = Path(advisor.__file__).parent / "data" / "services-v1.json"
    table = json.loads(path.read_text(encoding="utf-8"))
    assert table["read"]
    assert "agent_stores" in table["sources"]


def test_the_knowledge_base_runbooks_are_found_by_each_vector_store() -> None:
    """A ``failover_runbook`` search by service finds the runbooks the advisor names."""
    from agentkit.runbooks.tool import _matches

    runbooks = {rb.id: rb for rb in load_all(runbook_dir())}
    for kind in sorted(NEW_TYPES - {"agentcore-memory"}):
        found = {i for i, rb in runbooks.items() if _matches(rb, {"services": [kind]})}
        assert {"kb-regional-failover", "kb-search-fallback"} <= found, kind


def test_the_eval_cases_for_agent_stores_hold_offline_and_a_wrong_plan_fails() -> None:
    """The promptfoo cases' store plans (evals/data/dr-advisor.yaml) against the deterministic
    path; the check catches a plan whose RPO floor or sources are wrong."""
    from tests.evals.conftest import cases, checks

    planned = [c for c in cases.load("dr-advisor")["cases"] if "store_plan" in c]
    assert len(planned) >= 6
    for case in planned:
        advice = ask(case["q"])
        assert advice["strategy"] == case["strategy"], case["id"]
        assert checks._store_plan_problems(advice, case["store_plan"]) == [], case["id"]
        assert checks._flag_problems(advice, case) == [], case["id"]
    advice = ask(planned[0]["q"])
    for entry in advice["data_stores"]:
        entry["rpo_floor_seconds"] = 60
        entry["sources"] = ["https://example.com/blog"]
    problems = checks._store_plan_problems(advice, planned[0]["store_plan"])
    assert any("RPO floor 60 s" in p for p in problems)
    assert any("not AWS documentation" in p for p in problems)


def test_the_memory_runbook_is_found_by_service_and_says_it_is_team_built() -> None:
    """A ``failover_runbook`` search for AgentCore Memory finds the rebuild runbook, which runs
    nothing in the lost Region, replays records with BatchCreateMemoryRecords and says plainly
    that it is a procedure the team builds, not an AWS-managed failover."""
    from agentkit.runbooks.model import validate
    from agentkit.runbooks.tool import _matches

    runbooks = {rb.id: rb for rb in load_all(runbook_dir())}
    found = {i for i, rb in runbooks.items() if _matches(rb, {"services": ["agentcore-memory"]})}
    assert found == {"agentcore-memory-regional-rebuild"}
    book = runbooks["agentcore-memory-regional-rebuild"]
    assert book.spec["scenario"] == "agentcore_memory_rebuild"
    assert book.spec["execution_mode"] == "ungraceful"
    assert "not an AWS failover" in book.data["metadata"]["title"]
    assert validate(book).errors == []
    steps = {s["id"]: s for s in book.spec["steps"]}
    assert "BatchCreateMemoryRecords" in steps["drain_replay"]["title"]
    assert "Team-built" in steps["drain_replay"]["title"]
    assert steps["point_agent"]["rollback"] == "point_agent_back"
    for step in steps.values():
        assert "timeout_s" in step or step["type"] == "approval", step["id"]
    assert {v["after_step"] for v in book.spec["verification"]} >= {"drain_replay", "point_agent"}
    assert "short-term history" in steps["approve"]["title"]
