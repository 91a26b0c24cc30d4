"""docs_search: knowledge_search's contract over the packaged documentation, ranked by BM25."""

from __future__ import annotations

import pytest

from agentkit.agents.dr.sources import documentation_corpus
from agentkit.agents.tools import builtin_registry
from agentkit.bedrock.knowledge import check_search_response
from agentkit.tools.docs_search import DocsSearch, Document, Floor, LexicalIndex, terms
from agentkit.tools.registry import ToolRegistry

DOCS = [
    Document("a.md", "Aurora Global Database failover promotes the secondary cluster."),
    Document("b.md", "DynamoDB global tables replicate every write to each replica Region."),
    Document("c.md", "Lunch is pizza on Fridays, and the failover drill is on Tuesday."),
]


def search(min_score: float = 0.5, **payload: object) -> dict[str, object]:
    return DocsSearch(lambda: DOCS, {"docs": Floor(min_score, 5)}).search(payload)


def test_terms_are_lowercase_words_without_stop_words() -> None:
    assert terms("Warm_standby in us-east-1, THE Aurora") == [
        "warm",
        "standby",
        "us",
        "east",
        "1",
        "aurora",
    ]


def test_ranking_is_bm25_normalised_to_0_1_and_deterministic() -> None:
    index = LexicalIndex(DOCS)
    ranked = index.ranked("aurora failover")
    assert [d.uri for _, d in ranked] == ["a.md", "c.md"]
    assert all(0 < score <= 1 for score, _ in ranked)
    assert ranked == index.ranked("failover AURORA aurora")  # word order and case do not matter
    assert index.ranked("quantum chromodynamics") == []


def test_results_under_the_floor_are_dropped_and_counted() -> None:
    low = search(min_score=0.01, query="aurora failover")
    assert [r["citation"]["uri"] for r in low["results"]] == ["a.md", "c.md"]  # type: ignore[index]
    high = search(min_score=0.9, query="aurora lunch")  # each matches half the query
    assert (high["status"], high["results"], high["dropped_below_floor"]) == (
        "nothing_relevant",
        [],
        2,
    )
    assert "nothing relevant" in str(high["message"])


def test_the_response_keeps_knowledge_search_s_contract(registry: ToolRegistry) -> None:
    assert registry.contract("docs_search").response_schema == (
        registry.contract("knowledge_search").response_schema
    )
    output = registry.call("docs_search", {"query": "knowledge base regional failover"}).output
    assert check_search_response(output) == []
    assert output["status"] == "ok"
    assert output["results"][0]["id"] == "S1"
    citation = output["results"][0]["citation"]
    assert citation["location_type"] == "LOCAL"
    assert citation["uri"] in {d.uri for d in documentation_corpus()}


def test_the_corpus_is_the_packaged_runbooks_and_the_advisor_s_data_tables() -> None:
    uris = [d.uri for d in documentation_corpus()]
    assert "runbooks/aurora-global-failover.yaml" in uris
    assert "agentkit/agents/dr/data/services-v1.json#agent_stores/knowledge-base" in uris
    assert len(uris) == len(set(uris))


@pytest.fixture
def registry() -> ToolRegistry:
    return builtin_registry()


def test_without_a_knowledge_base_the_floor_is_a_knowledge_base_s_default() -> None:
    from agentkit.config import KnowledgeBaseConfig

    base = KnowledgeBaseConfig.model_validate({"regions": {"us-east-1": "KB12345678"}})
    assert DocsSearch(lambda: DOCS).floor(None) == Floor(base.min_score, base.max_results)


def test_the_registry_s_docs_search_and_the_doctor_s_list_are_one_wiring() -> None:
    from agentkit.agents.tools import BUILTIN, FROM_KNOWLEDGE

    registry = builtin_registry()
    assert {*BUILTIN, *FROM_KNOWLEDGE} >= {"docs_search", "knowledge_search"}
    assert not set(BUILTIN) & set(FROM_KNOWLEDGE)  # each tool wired in one place
    answer = registry.call("docs_search", {"query": "DynamoDB global tables failover"}).output
    assert answer["results"]  # the default floor applies without a Knowledge Base
