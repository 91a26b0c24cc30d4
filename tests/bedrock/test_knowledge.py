"""Knowledge Base retrieval against the emulator: Regional fallback, the relevance floor,
citations, bounded retries, breakers, and the knowledge_search tool."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.bedrock.knowledge import (
    KnowledgeRetriever,
    KnowledgeUnavailable,
    check_search_response,
    cited_location,
    filter_results,
)
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.errors import ConfigError
from agentkit.resilience.clock import FakeClock

from .conftest import PRIMARY, SECONDARY, config

EAST, WEST = "KBDOCSEAST", "KBDOCSWEST"
QUERY = "How does Aurora Global Database fail over?"  # terms: aurora global database fail over
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def corpus(region: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "aurora",
            "uri": f"s3://dr-docs-{region}/aurora.md",
            "text": "Aurora Global Database replicates to a secondary Region with typical lag "
            f"under one second. Old key: aws_secret_access_key={SECRET}",
        },
        {
            "id": "dynamodb",
            "uri": f"https://docs.example.com/{region}/dynamodb",
            "text": "DynamoDB global tables replicate writes between Regions.",
        },
        {"id": "route53", "uri": f"runbook-{region}", "text": "Route 53 ARC routing controls."},
    ]


@pytest.fixture
def emu(bedrock_emulator: Emulator) -> Emulator:
    bedrock_emulator.set_knowledge(
        {PRIMARY: {EAST: corpus(PRIMARY)}, SECONDARY: {WEST: corpus(SECONDARY)}}
    )
    return bedrock_emulator


def kb_config(emu: Emulator, **kb: Any) -> AgentkitConfig:
    base: dict[str, Any] = {"regions": {PRIMARY: EAST, SECONDARY: WEST}, "min_score": 0.5}
    return config(emu, knowledge_bases={"docs": {**base, **kb}})


class Retrievers:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.clock = FakeClock()
        self.spans = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self._made: list[KnowledgeRetriever] = []

    def __call__(self, cfg: AgentkitConfig | None = None) -> KnowledgeRetriever:
        retriever = KnowledgeRetriever.from_config(
            cfg or kb_config(self.emu),
            clock=self.clock,
            rng=random.Random(7),
            tracer_provider=self.provider,
        )
        self._made.append(retriever)
        return retriever

    def close(self) -> None:
        for retriever in self._made:
            retriever.close()
        self.provider.shutdown()


@pytest.fixture
def make(emu: Emulator) -> Iterator[Retrievers]:
    factory = Retrievers(emu)
    yield factory
    factory.close()


def retrieves(emu: Emulator, region: str) -> int:
    return sum(1 for c in emu.calls() if c.region == region and c.operation == "Retrieve")


def test_healthy_primary_serves_with_citations_matching_the_retrieved_results(
    emu: Emulator, make: Retrievers
) -> None:
    retrieval = make().retrieve(QUERY)
    client = emu.agent_client(PRIMARY)
    raw = client.retrieve(knowledgeBaseId=EAST, retrievalQuery={"text": QUERY})
    kept = [r for r in raw["retrievalResults"] if r["score"] >= 0.5]
    assert [(p.citation.uri, p.citation.score) for p in retrieval.passages] == [
        (r["location"]["s3Location"]["uri"], r["score"]) for r in kept
    ]
    assert [(p.id, p.citation.uri) for p in retrieval.passages] == [
        ("S1", f"s3://dr-docs-{PRIMARY}/aurora.md")
    ]
    assert [cited_location(r) for r in kept] == [("S3", f"s3://dr-docs-{PRIMARY}/aurora.md")]
    assert (retrieval.region, retrieval.knowledge_base_id, retrieval.fell_back) == (
        PRIMARY,
        EAST,
        False,
    )
    assert retrieves(emu, SECONDARY) == 0


def test_a_knowledge_base_down_in_the_primary_region_is_served_from_the_secondary(
    emu: Emulator, make: Retrievers
) -> None:
    emu.set_faults({"regions": {PRIMARY: {"down": True}}})
    retrieval = make().retrieve(QUERY)
    assert (retrieval.region, retrieval.knowledge_base_id, retrieval.fell_back) == (
        SECONDARY,
        WEST,
        True,
    )
    assert [p.citation.uri for p in retrieval.passages] == [f"s3://dr-docs-{SECONDARY}/aurora.md"]
    assert [(a.region, a.outcome, a.error_code) for a in retrieval.attempts] == [
        (PRIMARY, "error", "ConnectionRefused"),
        (SECONDARY, "ok", None),
    ]
    assert retrieval.to_json()["served_by"] == {
        "region": SECONDARY,
        "knowledge_base_id": WEST,
        "fell_back": True,
    }


def test_a_knowledge_base_missing_in_the_primary_falls_back_too(
    emu: Emulator, make: Retrievers
) -> None:
    emu.set_knowledge({SECONDARY: {WEST: corpus(SECONDARY)}})
    retrieval = make().retrieve(QUERY)
    assert retrieval.region == SECONDARY
    assert retrieval.attempts[0].error_code == "ResourceNotFoundException"


def test_throttling_is_retried_within_bounds_then_the_next_region_serves(
    emu: Emulator, make: Retrievers
) -> None:
    emu.set_faults(
        {
            "regions": {
                PRIMARY: {"knowledge_bases": {EAST: {"errors": [{"code": "ThrottlingException"}]}}}
            }
        }
    )
    retriever = make()
    retrieval = retriever.retrieve(QUERY)
    assert retrieves(emu, PRIMARY) == 3  # resilience.retry.max_attempts
    assert retrieval.region == SECONDARY
    assert len(make.clock.slept) == 2  # two backoffs, on the injected clock
    assert all(0 <= s <= 5.0 for s in make.clock.slept)
    attempts = [(a.region, a.error_code) for a in retrieval.attempts]
    assert attempts == [(PRIMARY, "ThrottlingException")] * 3 + [(SECONDARY, None)]


def test_a_throttle_that_clears_is_served_by_the_primary(emu: Emulator, make: Retrievers) -> None:
    emu.set_faults(
        {"regions": {PRIMARY: {"errors": [{"code": "ThrottlingException", "first": 2}]}}}
    )
    retrieval = make().retrieve(QUERY)
    assert (retrieval.region, retrieves(emu, PRIMARY), retrieves(emu, SECONDARY)) == (
        PRIMARY,
        3,
        0,
    )


def test_the_primary_breaker_opens_and_skips_the_region_without_a_call(
    emu: Emulator, make: Retrievers
) -> None:
    emu.set_faults({"regions": {PRIMARY: {"errors": [{"code": "InternalServerException"}]}}})
    retriever = make()
    retriever.retrieve(QUERY)  # 3 failures
    retriever.retrieve(QUERY)  # 2 more: fail_max 5 reached
    assert retriever.breakers[("docs", PRIMARY)].state == "open"
    before = retrieves(emu, PRIMARY)
    retrieval = retriever.retrieve(QUERY)
    assert retrieves(emu, PRIMARY) == before
    assert retrieval.attempts[0].error_code == "CircuitOpen"
    assert retrieval.region == SECONDARY


def test_every_region_failing_is_one_error_naming_each(emu: Emulator, make: Retrievers) -> None:
    emu.set_faults({"regions": {PRIMARY: {"down": True}, SECONDARY: {"down": True}}})
    with pytest.raises(KnowledgeUnavailable) as caught:
        make().retrieve(QUERY)
    message = str(caught.value)
    assert "knowledge base 'docs' unavailable in every Region" in message
    assert f"{PRIMARY} {EAST}: error (ConnectionRefused)" in message
    assert f"{SECONDARY} {WEST}: error (ConnectionRefused)" in message


def test_results_under_the_floor_never_reach_the_output(emu: Emulator, make: Retrievers) -> None:
    retrieval = make().retrieve(QUERY)
    output = retrieval.to_json()
    assert [r["citation"]["score"] for r in output["results"]] == [0.6]
    assert output["dropped_below_floor"] == 2  # 0.2 and 0.0
    assert "DynamoDB" not in str(output)
    assert "Route 53" not in str(output)
    assert check_search_response(output) == []


def test_with_nothing_above_the_floor_the_result_says_so(emu: Emulator, make: Retrievers) -> None:
    emu.set_faults({"regions": {PRIMARY: {"knowledge_bases": {"*": {"score_scale": 0.5}}}}})
    retrieval = make().retrieve(QUERY)
    assert not retrieval.relevant
    output = retrieval.to_json()
    assert (output["status"], output["results"], output["dropped_below_floor"]) == (
        "nothing_relevant",
        [],
        3,
    )
    assert output["message"] == (
        "The knowledge base 'docs' has nothing relevant to this question: no result reached "
        "the minimum relevance score 0.5 (best score 0.3)."
    )
    assert retrieval.region == PRIMARY  # a low score is an answer, not an outage


def test_retrieved_secrets_are_redacted(emu: Emulator, make: Retrievers) -> None:
    text = make().retrieve(QUERY).passages[0].text
    assert SECRET not in text
    assert "Aurora Global Database" in text


def test_max_results_is_capped_by_the_knowledge_base(emu: Emulator, make: Retrievers) -> None:
    retriever = make(kb_config(emu, min_score=0.0, max_results=2))
    assert len(retriever.retrieve(QUERY, max_results=10).passages) == 2
    assert len(retriever.retrieve(QUERY, max_results=1).passages) == 1


def test_the_span_names_the_knowledge_base_but_never_the_query(
    emu: Emulator, make: Retrievers
) -> None:
    emu.set_faults({"regions": {PRIMARY: {"down": True}}})
    make().retrieve(QUERY)
    (span,) = [s for s in make.spans.get_finished_spans() if s.name == "retrieve docs"]
    attributes = dict(span.attributes or {})
    assert attributes["aws.bedrock.knowledge_base.id"] == WEST
    assert attributes["cloud.region"] == SECONDARY
    assert (attributes["agentkit.retrieval.kept"], attributes["agentkit.retrieval.dropped"]) == (
        1,
        2,
    )
    assert "Aurora" not in str(attributes)


def test_filter_drops_unscored_and_uncitable_results() -> None:
    results = [
        {"content": {"text": "no score"}, "location": {"type": "S3", "s3Location": {"uri": "a"}}},
        {"content": {"text": "no location"}, "score": 0.9},
        {"content": {"text": ""}, "score": 0.9, "metadata": {"x-amz-bedrock-kb-source-uri": "b"}},
        {"content": {"text": "ok"}, "score": 0.9, "metadata": {"x-amz-bedrock-kb-source-uri": "c"}},
        "junk",
    ]
    passages, dropped, best = filter_results(results, 0.5, PRIMARY, EAST)
    assert [(p.text, p.citation.uri, p.citation.location_type) for p in passages] == [
        ("ok", "c", "METADATA")
    ]
    assert (dropped, best) == (4, None)


def test_configuration_mistakes_are_one_line_naming_the_key(emu: Emulator) -> None:
    with pytest.raises(ValueError, match=r"knowledge_bases\.docs\.regions\.us-east-1"):
        kb_config(emu, regions={PRIMARY: "kb-1"})
    outside = kb_config(emu, regions={PRIMARY: EAST, "eu-west-1": WEST})
    with pytest.raises(ConfigError, match=r"knowledge_bases\.docs\.regions\.eu-west-1: outside"):
        KnowledgeRetriever.from_config(outside)
    retriever = KnowledgeRetriever.from_config(kb_config(emu))
    try:
        with pytest.raises(ConfigError, match=r"no knowledge base 'nope'.*configured: docs"):
            retriever.retrieve(QUERY, knowledge_base="nope")
    finally:
        retriever.close()


def test_with_redis_state_the_region_breakers_are_the_fleet_s(
    emu: Emulator, redis_url: str, prefix: str
) -> None:
    """Two workers sharing Redis: one sees the primary Knowledge Base down, and the other goes
    straight to the secondary without calling the primary."""
    cfg = config(
        emu,
        knowledge_bases={"docs": {"regions": {PRIMARY: EAST, SECONDARY: WEST}, "min_score": 0.5}},
        resilience={
            "breaker": {"fail_max": 2, "reset_timeout_s": 30},
            "state": {"backend": "redis", "url": redis_url, "prefix": prefix},
        },
    )
    clock = FakeClock()
    first = KnowledgeRetriever.from_config(cfg, clock=clock, rng=random.Random(1))
    second = KnowledgeRetriever.from_config(cfg, clock=clock, rng=random.Random(2))
    try:
        assert second.retrieve(QUERY).region == PRIMARY  # healthy: the primary serves
        emu.set_faults({"regions": {PRIMARY: {"down": True}}})
        assert [first.retrieve(QUERY).region for _ in range(2)] == [SECONDARY] * 2
        before = retrieves(emu, PRIMARY)
        found = second.retrieve(QUERY)
        assert found.region == SECONDARY
        assert [(a.region, a.outcome, a.error_code) for a in found.attempts] == [
            (PRIMARY, "skipped", "CircuitOpen"),
            (SECONDARY, "ok", None),
        ]
        assert retrieves(emu, PRIMARY) == before  # never called: the fleet already knew
    finally:
        first.close()
        second.close()
