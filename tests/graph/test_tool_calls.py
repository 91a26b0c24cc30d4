"""Tool calls inside a run: kept in the checkpoint, never repeated, and loops stopped early."""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.errors import BudgetExceeded, ToolFailed, ToolNotFound
from agentkit.graph import AgentRuntime, RunContext, run_context
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.clock import FakeClock
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry
from tests.tools.conftest import RESPONSE, Hung, hung, write_tool  # noqa: F401  (hung: the fixture)
from tests.tools.test_side_effects import CHARGE

ANSWER = {"strategy": "pilot_light"}


class State(TypedDict, total=False):
    results: Annotated[list[Any], operator.add]


class Crash(Exception):
    """Stands in for a worker that dies after the tool call and before the node returns."""


class Executions:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        return ANSWER


def charge_registry(root: Path, handler: Executions, **options: Any) -> ToolRegistry:
    write_tool(root, "charge", "1.0.0", CHARGE, RESPONSE, side_effect="mutating")
    return ToolRegistry(load_contracts(root), {"charge": Implementation(handler)}, **options)


def test_a_resumed_run_reuses_the_stored_result_of_a_mutating_call(tmp_path: Path) -> None:
    crash = {"on": True}

    def pay(state: State, config: RunnableConfig) -> State:
        ctx = run_context(config)
        result = ctx.call_tool("charge", {"amount": 5, "idempotency_key": "order-1"})
        if crash["on"]:
            raise Crash
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("pay", pay)
    graph.add_edge(START, "pay")
    graph.add_edge("pay", END)
    handler = Executions()
    database = tmp_path / "checkpoints.sqlite"
    with sqlite3.connect(database, check_same_thread=False) as conn:
        first = AgentRuntime(
            "payer", graph, tools=charge_registry(tmp_path, handler), checkpointer=SqliteSaver(conn)
        )
        with pytest.raises(Crash):
            first.run({"results": []}, thread_id="t1")
    assert handler.count == 1
    crash["on"] = False
    # A new worker: a fresh registry (its in-memory store is empty), the same checkpoints.
    with sqlite3.connect(database, check_same_thread=False) as conn:
        second = AgentRuntime(
            "payer", graph, tools=charge_registry(tmp_path, handler), checkpointer=SqliteSaver(conn)
        )
        result = second.run(thread_id="t1", recover=True)
    assert result.stop_reason == "completed"
    assert result.state["results"] == [ANSWER]
    assert handler.count == 1  # executed once, across the crash
    assert [call["name"] for call in result.tool_calls] == ["charge"]


def test_recover_needs_a_checkpointer() -> None:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("noop", lambda state: {})
    graph.add_edge(START, "noop")
    with pytest.raises(ValueError, match="recover needs a checkpointer"):
        AgentRuntime("x", graph).run(thread_id="t", recover=True)


def loop_graph() -> StateGraph[Any, Any, Any, Any]:
    """A node that asks the same tool the same question, over and over."""

    def ask(state: State, config: RunnableConfig) -> State:
        output = run_context(config).call_tool("advisor", {"rto_minutes": 5, "region": "r"})
        return {"results": [output.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", lambda state: "ask")
    return graph


@pytest.mark.parametrize("limit", [3, 5])
def test_the_same_call_repeated_stops_the_run_before_the_recursion_limit(
    tmp_path: Path, limit: int
) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    handler = Executions()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    registry = ToolRegistry(load_contracts(tmp_path), {"advisor": Implementation(handler)})
    runtime = AgentRuntime(
        "looper",
        loop_graph(),
        tools=registry,
        recursion_limit=50,
        tool_repeat_limit=limit,
        tracer_provider=provider,
    )
    result = runtime.run({"results": []})
    assert result.stop_reason == "tool_loop"
    assert result.stop_message == (
        f"stopped: advisor was called with the same arguments more than {limit} times in this "
        "run (a tool loop); raise limits.tool_repeat_limit only if the repeats are meant"
    )
    assert handler.count == limit
    assert result.state["results"] == [ANSWER] * limit  # the partial state is kept
    run_span = next(s for s in spans.get_finished_spans() if s.name == "invoke_agent looper")
    assert (run_span.attributes or {})["agentkit.stop_reason"] == "tool_loop"


def test_different_arguments_are_not_a_loop(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    handler = Executions()
    registry = ToolRegistry(load_contracts(tmp_path), {"advisor": Implementation(handler)})
    ctx = RunContext(agent="a", budget=None, tools=registry, tool_repeat_limit=2)  # type: ignore[arg-type]
    for minutes in range(1, 6):
        ctx.call_tool("advisor", {"rto_minutes": minutes, "region": "r"})
    assert handler.count == 5
    assert len(ctx.tool_calls) == 5


def test_no_registry_is_one_clear_error() -> None:
    ctx = RunContext(agent="a", budget=None)  # type: ignore[arg-type]
    with pytest.raises(ToolNotFound, match="no tool registry in this run"):
        ctx.call_tool("advisor", {})


def test_the_limit_must_be_positive() -> None:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("noop", lambda state: {})
    graph.add_edge(START, "noop")
    with pytest.raises(ValueError, match="tool_repeat_limit must be at least 1"):
        AgentRuntime("x", graph, tool_repeat_limit=0)


def test_the_limit_comes_from_agentkit_yaml(tmp_path: Path) -> None:
    from agentkit.agents.dr.agent import build_advisor
    from agentkit.config import load_config

    path = tmp_path / "agentkit.yaml"
    path.write_text("limits: {tool_repeat_limit: 2}\n")
    runtime = build_advisor(load_config(path), model=None)
    assert runtime.tool_repeat_limit == 2
    assert runtime.context("t").tool_repeat_limit == 2


def slow_registry(root: Path, handler: Hung, **options: Any) -> ToolRegistry:
    write_tool(root, "advisor", "1.0.0", timeout_s=50)  # far beyond the run's budget
    return ToolRegistry(load_contracts(root), {"advisor": Implementation(handler)}, **options)


def test_the_runs_wall_clock_budget_ends_a_tool_call_and_stops_the_run(
    tmp_path: Path,
    hung: Hung,  # noqa: F811
) -> None:
    """The call's deadline is the budget's: the run stops as over budget, not after the tool's
    50 s (whatever the machine's load, the call cannot end before the budget does)."""

    def ask(state: State, config: RunnableConfig) -> State:
        result = run_context(config).call_tool("advisor", {"rto_minutes": 5, "region": "r"})
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    registry = slow_registry(tmp_path, hung)
    try:
        runtime = AgentRuntime(
            "asker", graph, tools=registry, budget_limits=BudgetLimits(wall_clock_s=0.5)
        )
        result = runtime.run({"results": []})
    finally:
        hung.release.set()
        registry.close()
    assert result.stop_reason == "budget_exceeded:wall_clock_s"
    assert result.tool_calls == ()


def test_a_tool_calls_deadline_is_what_is_left_of_the_budget(
    tmp_path: Path,
    hung: Hung,  # noqa: F811
) -> None:
    clock = FakeClock()
    registry = slow_registry(tmp_path, hung, clock=clock)
    budget = RunBudget(BudgetLimits(wall_clock_s=2.0), clock)
    ctx = RunContext(agent="a", budget=budget, tools=registry)
    try:
        clock.advance(1.75)
        with pytest.raises(ToolFailed, match=r"advisor timed out after 0.25 s \(the caller's"):
            ctx.call_tool("advisor", {"rto_minutes": 5, "region": "r"})
        clock.advance(0.25)  # the budget is used up: no call starts
        with pytest.raises(BudgetExceeded, match="wall_clock_s budget exceeded"):
            ctx.call_tool("advisor", {"rto_minutes": 6, "region": "r"})
        assert hung.entered == 1
    finally:
        hung.release.set()
        registry.close()
