"""Workflows stop gracefully at their limits, correct or replace bad model output, and degrade."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.bedrock.types import ModelRequest
from agentkit.errors import AllRoutesFailed
from agentkit.graph import AgentRuntime, approval, run_context, structured_step, text_step
from agentkit.resilience.budget import BudgetLimits
from agentkit.resilience.clock import FakeClock
from agentkit.testing import FunctionModel, ScriptedModel
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry
from tests.tools.conftest import REQUEST, write_tool


class LoopState(TypedDict, total=False):
    turns: Annotated[list[str], operator.add]
    done: bool


def loop_graph() -> StateGraph[Any, Any, Any, Any]:
    """think -> think -> ... until the model says DONE or the step degrades."""

    def think(state: LoopState, config: RunnableConfig) -> LoopState:
        ctx = run_context(config)
        outcome = text_step(
            ctx,
            messages=[{"role": "user", "content": [{"text": "again"}]}],
            fallback=lambda: "stopped: degraded",
        )
        return {
            "turns": [outcome.value],
            "done": outcome.source != "model" or outcome.value == "DONE",
        }

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(LoopState)
    graph.add_node("think", think)
    graph.add_edge(START, "think")
    graph.add_conditional_edges("think", lambda s: END if s.get("done") else "think")
    return graph


def test_recursion_limit_is_a_graceful_stop_with_the_partial_state() -> None:
    model = FunctionModel(lambda request: "thinking")
    result = AgentRuntime("looper", loop_graph(), model=model, recursion_limit=5).run({})
    assert result.stop_reason == "recursion_limit"
    assert result.state["turns"] == ["thinking"] * 5
    assert len(model.requests) == 5
    assert not result.degraded


@pytest.mark.parametrize(
    ("limits", "kind", "calls"),
    [
        (BudgetLimits(model_calls=3), "model_calls", 3),
        (BudgetLimits(tokens=40), "tokens", 3),  # each call costs 15 tokens here
    ],
)
def test_each_budget_kind_stops_the_run_gracefully(
    limits: BudgetLimits, kind: str, calls: int
) -> None:
    model = FunctionModel(lambda request: "thinking")
    result = AgentRuntime(
        "looper", loop_graph(), model=model, recursion_limit=50, budget_limits=limits
    ).run({})
    assert result.stop_reason == f"budget_exceeded:{kind}"
    assert result.degraded
    assert kind in (result.degraded_reason or "")
    assert len(model.requests) == calls
    assert result.state["turns"][-1] == "stopped: degraded"


def test_wall_clock_budget_stops_the_run() -> None:
    clock = FakeClock()

    def slow(request: ModelRequest) -> str:
        clock.advance(4)
        return "thinking"

    result = AgentRuntime(
        "looper",
        loop_graph(),
        model=FunctionModel(slow),
        recursion_limit=50,
        budget_limits=BudgetLimits(wall_clock_s=10),
        clock=clock,
    ).run({})
    assert result.stop_reason == "budget_exceeded:wall_clock_s"
    assert result.state["turns"].count("thinking") == 3


class ExtractState(TypedDict, total=False):
    question: str
    requirements: dict[str, Any]
    source: str
    answer: dict[str, Any]


def extract_graph() -> StateGraph[Any, Any, Any, Any]:
    def extract(state: ExtractState, config: RunnableConfig) -> ExtractState:
        ctx = run_context(config)
        assert ctx.tools is not None
        outcome = structured_step(
            ctx,
            name="advisor",
            description="requirements",
            schema=REQUEST,
            messages=[{"role": "user", "content": [{"text": state["question"]}]}],
            check=lambda value: ctx.tools.validate_input("advisor", value),  # type: ignore[union-attr]
            fallback=lambda: {"rto_minutes": 60, "region": "us-east-1"},
        )
        return {"requirements": outcome.value, "source": outcome.source}

    def advise(state: ExtractState, config: RunnableConfig) -> ExtractState:
        ctx = run_context(config)
        assert ctx.tools is not None
        return {"answer": ctx.tools.call("advisor", state["requirements"]).output}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(ExtractState)
    graph.add_node("extract", extract)
    graph.add_node("advise", advise)
    graph.add_edge(START, "extract")
    graph.add_edge("extract", "advise")
    graph.add_edge("advise", END)
    return graph


@pytest.fixture
def tools(tmp_path: Path) -> tuple[ToolRegistry, list[dict[str, Any]]]:
    write_tool(tmp_path, "advisor", "1.0.0")
    seen: list[dict[str, Any]] = []

    def advisor(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(payload)
        return {"strategy": "warm_standby"}

    def known_region(payload: dict[str, Any]) -> list[str]:
        return (
            []
            if payload["region"].startswith(("us-", "eu-"))
            else [f"unknown Region {payload['region']}"]
        )

    impl = Implementation(advisor, check_request=known_region)
    return ToolRegistry(load_contracts(tmp_path), {"advisor": impl}), seen


def use(payload: dict[str, Any]) -> dict[str, Any]:
    return {"toolUse": {"name": "advisor", "input": payload}}


def test_invalid_tool_input_from_the_model_is_corrected_before_the_tool_sees_it(tools: Any) -> None:
    registry, seen = tools
    model = ScriptedModel(
        [
            use({"rto_minutes": "fifteen", "region": "eu-west-1"}),
            use({"rto_minutes": 15, "region": "mars-1"}),
            use({"rto_minutes": 15, "region": "eu-west-1"}),
        ]
    )
    result = AgentRuntime("advisor", extract_graph(), model=model, tools=registry).run(
        {"question": "RTO 15m"}
    )
    assert result.state["source"] == "model"
    assert seen == [{"rto_minutes": 15, "region": "eu-west-1"}]  # only the corrected input
    corrections = [r.messages[-1]["content"][0]["toolResult"] for r in model.requests[1:]]
    assert [c["status"] for c in corrections] == ["error", "error"]
    assert "'fifteen' is not of type 'number'" in corrections[0]["content"][0]["text"]
    assert "unknown Region mars-1" in corrections[1]["content"][0]["text"]


def test_uncorrectable_model_output_takes_the_deterministic_fallback(tools: Any) -> None:
    registry, seen = tools
    model = ScriptedModel([use({"rto_minutes": -1, "region": "x"})] * 3)
    result = AgentRuntime("advisor", extract_graph(), model=model, tools=registry).run(
        {"question": "q"}
    )
    assert result.state["source"] == "fallback"
    assert seen == [{"rto_minutes": 60, "region": "us-east-1"}]
    assert model.remaining == 0
    assert not result.degraded


def test_model_tier_gone_degrades_and_says_why_once(tools: Any) -> None:
    registry, _ = tools
    model = ScriptedModel([AllRoutesFailed([])])
    result = AgentRuntime("advisor", extract_graph(), model=model, tools=registry).run(
        {"question": "q"}
    )
    assert result.state["source"] == "degraded"
    assert result.state["answer"] == {"strategy": "warm_standby"}  # core function kept
    assert result.degraded_reasons == ("every model route failed (no route usable)",)
    offline = AgentRuntime(
        "advisor", extract_graph(), tools=registry, offline_reason="no AWS credentials"
    ).run({"question": "q"})
    assert offline.degraded_reasons == ("no AWS credentials",)


def test_approval_pauses_and_resumes() -> None:
    class State(TypedDict, total=False):
        step: str
        approved: Any

    def gate(state: State) -> State:
        return {"approved": approval({"action": "failover-global-cluster --allow-data-loss"})}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("gate", gate)
    graph.add_edge(START, "gate")
    graph.add_edge("gate", END)
    runtime = AgentRuntime("runbook", graph, checkpointer=InMemorySaver())
    paused = runtime.run({"step": "s3"}, thread_id="incident-42")
    assert paused.stop_reason == "interrupted"
    assert paused.interrupt == {"action": "failover-global-cluster --allow-data-loss"}
    resumed = runtime.run(thread_id="incident-42", resume={"by": "ic", "ok": True})
    assert resumed.stop_reason == "completed"
    assert resumed.state["approved"] == {"by": "ic", "ok": True}


def test_invoke_agent_span_describes_the_run(tools: Any) -> None:
    registry, _ = tools
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    model = ScriptedModel([AllRoutesFailed([])])
    AgentRuntime(
        "advisor", extract_graph(), model=model, tools=registry, tracer_provider=provider
    ).run({"question": "q"}, thread_id="conv-1")
    agent = next(s for s in spans.get_finished_spans() if s.name == "invoke_agent advisor")
    attrs = dict(agent.attributes or {})
    assert attrs["gen_ai.agent.name"] == "advisor"
    assert attrs["gen_ai.conversation.id"] == "conv-1"
    assert attrs["agentkit.stop_reason"] == "completed"
    assert attrs["agentkit.degraded"] is True
    assert attrs["agentkit.budget.model_calls"] == 1
    assert [e.name for e in agent.events] == ["agentkit.degraded"]
