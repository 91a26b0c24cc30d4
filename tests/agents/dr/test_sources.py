"""The DR advisor grounds its explanation in a documentation Knowledge Base; its decision never
depends on what (or whether anything) is retrieved."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentkit.agents.dr.agent import Answer, ask, build_advisor
from agentkit.agents.dr.sources import documentation_query, render_sources
from agentkit.bedrock.types import ModelRequest
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.graph import AgentRuntime
from agentkit.guardrails import OutputGuard
from agentkit.testing import FunctionModel

QUESTION = "orders-api on Aurora in Ohio, RTO 30 min, RPO 5 min"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
EAST, WEST = "KBDOCSEAST", "KBDOCSWEST"


def corpus(region: str) -> list[dict[str, str]]:
    return [
        {
            "id": "aurora",
            "uri": f"s3://dr-docs-{region}/aurora.md",
            "text": "Aurora Global Database replicates to a secondary Region with typical lag "
            "under one second. A managed failover keeps the topology.",
        },
        {"id": "lunch", "uri": f"s3://dr-docs-{region}/lunch.md", "text": "Pizza on Fridays."},
    ]


def settings(emu: Emulator | None, **kb: Any) -> AgentkitConfig:
    data: dict[str, Any] = {}
    if emu is not None:
        base = {"regions": {PRIMARY: EAST, SECONDARY: WEST}, "min_score": 0.3, "dr_advisor": True}
        data = {
            "models": {"endpoints": emu.endpoints},
            "resilience": {"timeouts": {"connect_s": 1.0, "read_s": 2.0}},
            "knowledge_bases": {"docs": {**base, **kb}},
        }
    return AgentkitConfig.model_validate(data)


@pytest.fixture
def emu(bedrock_emulator: Emulator) -> Emulator:
    bedrock_emulator.set_knowledge(
        {PRIMARY: {EAST: corpus(PRIMARY)}, SECONDARY: {WEST: corpus(SECONDARY)}}
    )
    return bedrock_emulator


@pytest.fixture
def advisor() -> Iterator[Callable[..., AgentRuntime]]:
    made: list[AgentRuntime] = []

    def build(config: AgentkitConfig, model: Any = None) -> AgentRuntime:
        runtime = build_advisor(config, model=model)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        if runtime.tools is not None:
            runtime.tools.close()


def advice_of(answer: Answer) -> dict[str, Any]:
    (call,) = [c for c in answer.tool_calls if c["name"] == "dr_advisor"]
    return dict(call["output"])


def test_the_answer_cites_the_documentation_it_was_grounded_in(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    answer = ask(advisor(settings(emu)), QUESTION)
    names = [c["name"] for c in answer.tool_calls]
    assert names[0] == "dr_advisor"
    assert names[-1] == "knowledge_search"  # after the decision
    assert "- [S1] Aurora Global Database replicates to a secondary Region" in answer.answer
    assert f"(s3://dr-docs-{PRIMARY}/aurora.md, relevance " in answer.answer
    assert "Pizza" not in answer.answer  # under the floor: never in the answer
    (search,) = [c for c in answer.tool_calls if c["name"] == "knowledge_search"]
    cited = [r["citation"]["uri"] for r in search["output"]["results"]]
    assert cited == [f"s3://dr-docs-{PRIMARY}/aurora.md"]


def test_the_decision_never_depends_on_retrieval(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    without = advice_of(ask(advisor(settings(None)), QUESTION))
    healthy = ask(advisor(settings(emu)), QUESTION)
    emu.set_faults({"regions": {PRIMARY: {"down": True}, SECONDARY: {"down": True}}})
    down = ask(advisor(settings(emu)), QUESTION)
    emu.set_faults({"regions": {PRIMARY: {"knowledge_bases": {"*": {"score_scale": 0.1}}}}})
    irrelevant = ask(advisor(settings(emu)), QUESTION)
    assert advice_of(healthy) == advice_of(down) == advice_of(irrelevant) == without
    assert healthy.strategy == down.strategy == irrelevant.strategy
    # Every Region down: docs_search (the packaged documentation) answers instead.
    assert "the knowledge base 'docs' could not be searched" in down.answer
    assert "(runbooks/" in down.answer
    assert "has nothing relevant to this advice" in irrelevant.answer
    assert "[S1]" not in irrelevant.answer


def test_every_region_down_grounds_the_answer_in_the_packaged_documentation(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    emu.set_faults({"regions": {PRIMARY: {"down": True}, SECONDARY: {"down": True}}})
    cited: list[str] = []

    def model(request: ModelRequest) -> str:
        prompt = " ".join(str(block.get("text", "")) for block in request.system)
        found = re.search(r'"uri": "([^"]+)"\s*},\s*"id": "S1"', prompt)  # S1's citation
        uri = found.group(1) if found else "none"
        cited.append(uri)
        return f"The runbook says how [S1] ({uri})."

    answer = ask(advisor(settings(emu), FunctionModel(model)), QUESTION)
    (search,) = [c for c in answer.tool_calls if c["name"] == "docs_search"]
    output = search["output"]
    assert output["served_by"]["knowledge_base_id"] == "docs_search"
    assert output["min_score"] == 0.3  # the Knowledge Base's own floor
    assert all(r["citation"]["score"] >= 0.3 for r in output["results"])
    assert answer.source == "model"  # the grounding guard found [S1] among the results
    assert cited[-1] == output["results"][0]["citation"]["uri"]  # the compose call's
    assert cited[-1].startswith(("runbooks/", "agentkit/agents/dr/data/"))
    assert answer.answer.startswith(f"The runbook says how [S1] ({cited[-1]})")
    assert "- [S1] " in answer.answer

    def stray(request: ModelRequest) -> str:
        return "See the Aurora notes [S9] (s3://dr-docs/aurora.md)."

    replaced = ask(advisor(settings(emu), FunctionModel(stray)), QUESTION)
    assert replaced.source == "template"  # a citation docs_search did not return is replaced
    assert "[S9]" not in replaced.answer


def test_a_floor_no_local_document_reaches_says_there_is_nothing_relevant(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    emu.set_faults({"regions": {PRIMARY: {"down": True}, SECONDARY: {"down": True}}})
    answer = ask(advisor(settings(emu, min_score=1.0)), QUESTION)
    (search,) = [c for c in answer.tool_calls if c["name"] == "docs_search"]
    assert search["output"]["status"] == "nothing_relevant"
    assert search["output"]["dropped_below_floor"] > 0
    assert "[S1]" not in answer.answer
    assert "the packaged documentation has nothing relevant to this advice" in answer.answer


def test_without_a_documentation_knowledge_base_the_answer_is_unchanged(
    advisor: Callable[..., AgentRuntime],
) -> None:
    answer = ask(advisor(settings(None)), QUESTION)
    assert "Sources" not in answer.answer
    assert [c["name"] for c in answer.tool_calls] == ["dr_advisor", "failover_runbook"]


def test_a_model_citing_a_passage_that_was_not_retrieved_is_replaced(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    def model(request: ModelRequest) -> str:
        return "The runbook covers it [S7]."

    answer = ask(advisor(settings(emu), FunctionModel(model)), QUESTION)
    assert "[S7]" not in answer.answer
    assert answer.source == "template"
    assert "- [S1] Aurora Global Database" in answer.answer


def test_a_model_citing_the_retrieved_passage_keeps_its_answer(
    emu: Emulator, advisor: Callable[..., AgentRuntime]
) -> None:
    def model(request: ModelRequest) -> str:
        return f"See the Aurora notes [S1] (s3://dr-docs-{PRIMARY}/aurora.md)."

    answer = ask(advisor(settings(emu), FunctionModel(model)), QUESTION)
    assert answer.source == "model"
    assert answer.answer.startswith("See the Aurora notes [S1]")
    assert answer.answer.count("[S1]") == 2  # the model's, and the sources block's


def test_the_grounding_guard_checks_citations() -> None:
    sources = {
        "knowledge_base": "docs",
        "status": "ok",
        "results": [{"id": "S1", "text": "t", "citation": {"uri": "s3://a/b.md", "score": 0.6}}],
    }
    guard = OutputGuard()
    assert not guard.check("Read [S1] (s3://a/b.md).", [sources]).replace
    wrong_uri = guard.check("Read [S1] (s3://a/other.md).", [sources])
    assert wrong_uri.replace
    assert wrong_uri.reasons == ("unsupported source s3://a/other.md for [S1]",)
    assert guard.check("Read [S2].", [sources]).reasons == ("unsupported citation [S2]",)


def test_documentation_query_and_rendering() -> None:
    advice = {
        "strategy": "warm_standby",
        "data_stores": [
            {"service": "Aurora Global Database"},
            {"service": "Aurora Global Database"},
        ],
    }
    assert documentation_query(advice) == (
        "warm standby disaster recovery Aurora Global Database failover"
    )
    assert render_sources(None) == ""
    long = {
        "knowledge_base": "docs",
        "status": "ok",
        "results": [{"id": "S1", "text": "x" * 500, "citation": {"uri": "s3://a", "score": 0.5}}],
    }
    line = render_sources(long).splitlines()[1]
    assert line == "- [S1] " + "x" * 237 + "... (s3://a, relevance 0.50)"


def test_only_one_knowledge_base_may_ground_the_advisor() -> None:
    kb = {"regions": {PRIMARY: EAST}, "dr_advisor": True}
    with pytest.raises(ValueError, match="dr_advisor is set on a, b; set it on one"):
        AgentkitConfig.model_validate({"knowledge_bases": {"a": kb, "b": kb}})
