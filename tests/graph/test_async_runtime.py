"""``AgentRuntime.arun``: the same limits, budget, approvals, tool-call records and recovery as
``run``, with the model awaited on the event loop."""

from __future__ import annotations

import asyncio
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from agentkit.graph import AgentRuntime, approval, atext_step, inline, node, run_context
from agentkit.ops import KillSwitchOn
from agentkit.resilience.budget import BudgetLimits
from agentkit.testing import FunctionModel
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry
from tests.graph.test_runtime import loop_graph
from tests.graph.test_tool_calls import ANSWER, Crash, Executions, charge_registry
from tests.ops.conftest import Document, document  # noqa: F401  (the operator's document)
from tests.ops.test_where_overrides_bite import two_steps
from tests.tools.conftest import write_tool


class LoopState(TypedDict, total=False):
    turns: Annotated[list[str], operator.add]
    done: bool


def async_loop_graph() -> StateGraph[Any, Any, Any, Any]:
    """``loop_graph`` of test_runtime with an async think node."""

    async def athink(state: LoopState, config: RunnableConfig) -> LoopState:
        ctx = run_context(config)
        outcome = await atext_step(
            ctx,
            messages=[{"role": "user", "content": [{"text": "again"}]}],
            fallback=lambda: "stopped: degraded",
        )
        return {
            "turns": [outcome.value],
            "done": outcome.source != "model" or outcome.value == "DONE",
        }

    def think(state: LoopState, config: RunnableConfig) -> LoopState:
        raise AssertionError("arun must await the async variant")

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(LoopState)
    graph.add_node("think", node(think, athink, name="think"))
    graph.add_edge(START, "think")
    graph.add_conditional_edges("think", inline(lambda s: END if s.get("done") else "think"))
    return graph


@pytest.mark.parametrize(
    ("limits", "recursion", "stop"),
    [
        (BudgetLimits(), 5, "recursion_limit"),
        (BudgetLimits(model_calls=3), 50, "budget_exceeded:model_calls"),
        (BudgetLimits(tokens=40), 50, "budget_exceeded:tokens"),
    ],
)
def test_arun_stops_where_run_stops(limits: BudgetLimits, recursion: int, stop: str) -> None:
    def runtime(graph: StateGraph[Any, Any, Any, Any]) -> AgentRuntime:
        model = FunctionModel(lambda request: "thinking")
        return AgentRuntime(
            "looper", graph, model=model, recursion_limit=recursion, budget_limits=limits
        )

    synced = runtime(loop_graph()).run({})
    awaited = asyncio.run(runtime(async_loop_graph()).arun({}))
    assert awaited.stop_reason == synced.stop_reason == stop
    assert awaited.state == synced.state
    assert awaited.degraded_reasons == synced.degraded_reasons
    assert awaited.budget["model_calls"] == synced.budget["model_calls"]


def test_an_approval_pauses_and_resumes_under_arun() -> None:
    class State(TypedDict, total=False):
        approved: Any

    def gate(state: State) -> State:
        return {"approved": approval({"action": "failover"})}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("gate", node(gate))
    graph.add_edge(START, "gate")
    graph.add_edge("gate", END)
    runtime = AgentRuntime("runbook", graph, checkpointer=InMemorySaver())

    async def both() -> Any:
        paused = await runtime.arun({}, thread_id="incident-7")
        return paused, await runtime.arun(thread_id="incident-7", resume={"ok": True})

    paused, resumed = asyncio.run(both())
    assert (paused.stop_reason, paused.interrupt) == ("interrupted", {"action": "failover"})
    assert (resumed.stop_reason, resumed.state["approved"]) == ("completed", {"ok": True})


class State(TypedDict, total=False):
    results: Annotated[list[Any], operator.add]


def test_a_repeated_tool_call_is_a_tool_loop_under_arun(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    handler = Executions()
    registry = ToolRegistry(load_contracts(tmp_path), {"advisor": Implementation(handler)})

    async def aask(state: State, config: RunnableConfig) -> State:
        result = await run_context(config).acall_tool("advisor", {"rto_minutes": 5, "region": "r"})
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("ask", aask)
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", inline(lambda state: "ask"))
    runtime = AgentRuntime("looper", graph, tools=registry, recursion_limit=50, tool_repeat_limit=3)
    result = asyncio.run(runtime.arun({"results": []}))
    assert result.stop_reason == "tool_loop"
    assert handler.count == 3
    assert result.state["results"] == [ANSWER] * 3
    assert [call["name"] for call in result.tool_calls] == ["advisor"] * 3


def test_a_recovered_async_run_reuses_the_stored_tool_result(tmp_path: Path) -> None:
    crash = {"on": True}

    async def pay(state: State, config: RunnableConfig) -> State:
        ctx = run_context(config)
        result = await ctx.acall_tool("charge", {"amount": 5, "idempotency_key": "order-1"})
        if crash["on"]:
            raise Crash
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("pay", pay)
    graph.add_edge(START, "pay")
    graph.add_edge("pay", END)
    handler = Executions()
    database = str(tmp_path / "checkpoints.sqlite")

    async def worker() -> Any:
        async with AsyncSqliteSaver.from_conn_string(database) as saver:
            registry = charge_registry(tmp_path, handler)
            runtime = AgentRuntime("payer", graph, tools=registry, checkpointer=saver)
            if crash["on"]:
                return await runtime.arun({"results": []}, thread_id="t1")
            return await runtime.arun(thread_id="t1", recover=True)

    with pytest.raises(Crash):
        asyncio.run(worker())
    crash["on"] = False
    result = asyncio.run(worker())  # a new worker: a fresh registry, the same checkpoints
    assert result.stop_reason == "completed"
    assert result.state["results"] == [ANSWER]
    assert handler.count == 1  # executed once, across the crash


def test_the_kill_switch_stops_an_async_run_at_its_next_step_and_refuses_new_ones(
    document: Document,  # noqa: F811
) -> None:
    runtime = AgentRuntime("ops-test", two_steps(document))
    result = asyncio.run(runtime.arun({}))
    assert result.stop_reason == "kill_switch"
    assert result.state["ran"] == ["first"]  # "second" never ran
    assert "ops clear kill_switch" in (result.stop_message or "")
    with pytest.raises(KillSwitchOn, match="new runs are refused"):
        asyncio.run(runtime.arun({}))
    document.clear()
    document.poll()
    assert asyncio.run(runtime.arun({})).stop_reason == "completed"
