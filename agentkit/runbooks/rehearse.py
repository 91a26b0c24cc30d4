"""Rehearse a runbook plan: walk its steps in order, pausing at each approval gate.

A rehearsal performs no AWS action: each step is recorded with the action it would take. Approval
steps pause the run (a LangGraph interrupt, through :func:`agentkit.graph.approval`) until a
person answers; a rejection stops the rehearsal there. The timeline is the evidence a game day
keeps, with the runbook's version and content hash.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from agentkit.graph import AgentRuntime, RunResult, approval

Decide = Callable[[dict[str, Any]], dict[str, Any]]  # approval request -> {"approved", "by"}


class RehearsalState(TypedDict, total=False):
    timeline: Annotated[list[dict[str, Any]], operator.add]
    aborted: bool


def _node(step: dict[str, Any], roles: dict[str, list[str]]) -> Any:
    """The graph node for one step (typed loosely: LangGraph's node protocols are generic)."""

    def run(state: RehearsalState) -> RehearsalState:
        if state.get("aborted"):
            return {}
        entry = {
            "order": step["order"],
            "step": step["id"],
            "type": step["type"],
            "title": step["title"],
        }
        if step["type"] != "approval":
            return {
                "timeline": [{**entry, "status": "rehearsed", "params": step.get("params", {})}]
            }
        gate = step.get("approval", "")
        answer = approval(
            {
                "step": step["id"],
                "title": step["title"],
                "approval": gate,
                "roles": roles.get(gate, []),
            }
        )
        approved = bool(answer.get("approved")) if isinstance(answer, dict) else False
        by = answer.get("by", "") if isinstance(answer, dict) else ""
        record = {**entry, "status": "approved" if approved else "rejected", "by": by}
        return {"timeline": [record], "aborted": not approved}

    return run


def rehearsal_graph(planned: dict[str, Any]) -> StateGraph[Any, Any, Any, Any]:
    roles = {a["id"]: a["roles"] for a in planned["approvals"]}
    steps = [step for group in planned["groups"] for step in group["steps"]]
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(RehearsalState)
    previous = START
    for step in steps:
        name = f"{step['order']:03d}_{step['id']}"
        graph.add_node(name, _node(step, roles))
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph


def rehearse(
    planned: dict[str, Any], decide: Decide, thread_id: str = "rehearsal"
) -> dict[str, Any]:
    """Run the rehearsal to its end, asking ``decide`` at each approval gate."""
    steps = sum(len(g["steps"]) for g in planned["groups"])
    runtime = AgentRuntime(
        "runbook-rehearsal",
        rehearsal_graph(planned),
        checkpointer=InMemorySaver(),
        recursion_limit=steps + 2,
    )
    result: RunResult = runtime.run({"timeline": []}, thread_id=thread_id)
    while result.stop_reason == "interrupted":
        result = runtime.run(thread_id=thread_id, resume=decide(result.interrupt))
    timeline = result.state.get("timeline", [])
    return {
        "runbook": planned["runbook"],
        "version": planned["version"],
        "sha256": planned["sha256"],
        "regions": planned["regions"],
        "completed": not result.state.get("aborted", False),
        "timeline": timeline,
    }
