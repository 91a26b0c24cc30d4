"""The knowledge_search tool: its contract, its handler in the runtime, against the emulator."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from agentkit.agents.tools import builtin_registry
from agentkit.bedrock.knowledge import KnowledgeRetriever
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.errors import ToolInputInvalid, ToolNotConfigured
from agentkit.resilience.clock import FakeClock
from agentkit.tools.registry import ToolRegistry

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
EAST, WEST = "KBDOCSEAST", "KBDOCSWEST"
QUERY = "How does Aurora Global Database fail over?"


def corpus(region: str) -> list[dict[str, str]]:
    return [
        {
            "id": "aurora",
            "uri": f"s3://dr-docs-{region}/aurora.md",
            "text": "Aurora Global Database replicates with typical lag under one second.",
        },
        {"id": "dynamodb", "uri": f"s3://dr-docs-{region}/ddb.md", "text": "DynamoDB tables."},
    ]


@pytest.fixture
def registry(bedrock_emulator: Emulator) -> Iterator[ToolRegistry]:
    emu = bedrock_emulator
    emu.set_knowledge({PRIMARY: {EAST: corpus(PRIMARY)}, SECONDARY: {WEST: corpus(SECONDARY)}})
    config = AgentkitConfig.model_validate(
        {
            "models": {"endpoints": emu.endpoints},
            "resilience": {"timeouts": {"connect_s": 1.0, "read_s": 2.0}},
            "knowledge_bases": {
                "docs": {"regions": {PRIMARY: EAST, SECONDARY: WEST}, "min_score": 0.5}
            },
        }
    )
    retriever = KnowledgeRetriever.from_config(config, clock=FakeClock(), rng=random.Random(7))
    tools = builtin_registry(knowledge=retriever)
    yield tools
    tools.close()
    retriever.close()


def test_the_contract_is_read_only_and_versioned(registry: ToolRegistry) -> None:
    contract = registry.contract("knowledge_search")
    assert (contract.key, contract.side_effect) == ("knowledge_search@1", "read_only")
    assert contract.tool_spec()["inputSchema"]["json"]["required"] == ["query"]


def test_a_down_primary_is_served_from_the_secondary_with_citations(
    bedrock_emulator: Emulator, registry: ToolRegistry
) -> None:
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}}})
    output = registry.call("knowledge_search", {"query": QUERY, "knowledge_base": "docs"}).output
    assert output["status"] == "ok"
    assert output["served_by"] == {
        "region": SECONDARY,
        "knowledge_base_id": WEST,
        "fell_back": True,
    }
    assert [(r["id"], r["citation"]["uri"]) for r in output["results"]] == [
        ("S1", f"s3://dr-docs-{SECONDARY}/aurora.md")
    ]


def test_nothing_relevant_is_an_answer_not_a_failure(registry: ToolRegistry) -> None:
    output = registry.call("knowledge_search", {"query": "quantum chromodynamics"}).output
    assert (output["status"], output["results"], output["dropped_below_floor"]) == (
        "nothing_relevant",
        [],
        2,
    )
    assert "has nothing relevant" in output["message"]


def test_invalid_input_never_reaches_the_knowledge_base(
    bedrock_emulator: Emulator, registry: ToolRegistry
) -> None:
    for bad in ({"query": ""}, {"query": "x", "max_results": 50}, {"q": "x"}):
        with pytest.raises(ToolInputInvalid):
            registry.call("knowledge_search", bad)
    assert not [c for c in bedrock_emulator.calls() if c.operation == "Retrieve"]


def test_an_unknown_knowledge_base_name_is_invalid_input_naming_the_configured_ones(
    bedrock_emulator: Emulator, registry: ToolRegistry
) -> None:
    with pytest.raises(ToolInputInvalid, match=r"'wiki' is not configured; use one of: docs"):
        registry.call("knowledge_search", {"query": QUERY, "knowledge_base": "wiki"})
    assert not bedrock_emulator.calls()


def test_without_knowledge_bases_the_tool_says_how_to_configure_them() -> None:
    tools = builtin_registry()
    try:
        # A missing setting is not an outage: it is said, not hidden behind docs_search.
        with pytest.raises(ToolNotConfigured, match=r"no knowledge_bases in agentkit\.yaml"):
            tools.call("knowledge_search", {"query": "x"})
    finally:
        tools.close()


def test_every_region_down_is_answered_by_docs_search_under_the_same_floor(
    bedrock_emulator: Emulator, registry: ToolRegistry
) -> None:
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}, SECONDARY: {"down": True}}})
    result = registry.call("knowledge_search", {"query": "Aurora Global Database failover"})
    assert (result.name, result.fallback_from) == ("docs_search", "knowledge_search")
    output = result.output
    assert output["served_by"] == {
        "region": "local",
        "knowledge_base_id": "docs_search",
        "fell_back": True,
    }
    assert output["knowledge_base"] == "docs"
    assert output["min_score"] == 0.5  # the Knowledge Base's floor
    assert output["status"] == "ok"
    assert output["results"]
    for item in output["results"]:
        assert item["citation"]["score"] >= 0.5
        assert item["citation"]["uri"].startswith(("runbooks/", "agentkit/agents/dr/data/"))
    assert registry.contract("knowledge_search").fallback == "docs_search"
