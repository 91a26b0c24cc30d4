"""A worker process for the SIGKILL tests: one graph run that calls the fault server's mutating
``record`` tool through the real MCP client, with its checkpoints in SQLite.

    python -m tests.tools.mcp_worker URL DATABASE THREAD --stop before|after --signal FILE
    python -m tests.tools.mcp_worker URL DATABASE THREAD --recover     # prints the result as JSON

``--stop before`` writes FILE and blocks before the tool is called; ``--stop after`` blocks once
the tool's result is in the checkpoint (then writes FILE). The test kills the process with
SIGKILL and recovers the run in a new one. Without ``--stop`` the run ends normally.
"""

from __future__ import annotations

import argparse
import json
import operator
import sqlite3
import threading
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from agentkit.config import McpServerConfig
from agentkit.emulator.mcp_faults import FaultOptions, tool_list
from agentkit.graph import AgentRuntime, run_context
from agentkit.tools.mcp_client import McpClient, locked_tool
from agentkit.tools.registry import ToolRegistry

PAYLOAD = {"idempotency_key": "order-1", "note": "charge"}
_CHECKPOINT_WAIT_S = 60.0


class State(TypedDict, total=False):
    results: Annotated[list[Any], operator.add]


def _block(signal: Path) -> None:
    """Say so, then wait for SIGKILL."""
    signal.write_text("ready")
    threading.Event().wait()


def _stored(saver: SqliteSaver, thread: str) -> None:
    """Return once the tool call's result is saved in the thread's checkpoint (LangGraph saves
    a task's result on a background thread)."""
    deadline = time.monotonic() + _CHECKPOINT_WAIT_S
    while time.monotonic() < deadline:
        saved = saver.get_tuple({"configurable": {"thread_id": thread}})
        if saved is not None and saved.pending_writes:
            return
        time.sleep(0.01)
    raise RuntimeError("the tool call's result never reached the checkpoint")


def runtime(registry: ToolRegistry, saver: SqliteSaver, args: argparse.Namespace) -> AgentRuntime:
    def pay(state: State, config: RunnableConfig) -> State:
        if args.stop == "before":
            _block(args.signal)
        result = run_context(config).call_tool("record", dict(PAYLOAD))
        if args.stop == "after":
            _stored(saver, args.thread)
            _block(args.signal)
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(State)
    graph.add_node("pay", pay)
    graph.add_edge(START, "pay")
    graph.add_edge("pay", END)
    return AgentRuntime("payer", graph, tools=registry, checkpointer=saver)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("database", type=Path)
    parser.add_argument("thread")
    parser.add_argument("--stop", choices=("before", "after"))
    parser.add_argument("--signal", type=Path)
    parser.add_argument("--recover", action="store_true")
    args = parser.parse_args()
    lock = {"faults": {t.name: locked_tool("faults", t) for t in tool_list(FaultOptions(Path()))}}
    server = McpServerConfig(url=args.url, timeout_s=120)
    with (
        McpClient({"faults": server}, lock) as mcp,
        sqlite3.connect(args.database, check_same_thread=False) as conn,
    ):
        registry = ToolRegistry({}, {})
        mcp.register(registry)
        agent = runtime(registry, SqliteSaver(conn), args)
        if args.recover:
            result = agent.run(thread_id=args.thread, recover=True)
        else:
            result = agent.run({"results": []}, thread_id=args.thread)
        print(
            json.dumps(
                {
                    "stop_reason": result.stop_reason,
                    "results": result.state.get("results"),
                    "tool_calls": [call["name"] for call in result.tool_calls],
                }
            )
        )


if __name__ == "__main__":
    main()
