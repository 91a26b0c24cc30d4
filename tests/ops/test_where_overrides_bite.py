"""Where the overrides bite: the gateway (clamp and pin, seen in the emulator's call log), the
graph runtime (kill switch at the start of a run and at each step; tool re-routes)."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.graph import AgentRuntime, run_context
from agentkit.ops import ATTRIBUTE, KillSwitchOn
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry
from tests.tools.conftest import REQUEST, RESPONSE, write_tool

from .conftest import Document

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
HI = [{"role": "user", "content": [{"text": "hi"}]}]


def gateway(emu: Emulator, spans: InMemorySpanExporter | None = None) -> Gateway:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "routes": [
                    {"model": SONNET, "region": PRIMARY},
                    {"model": SONNET, "region": SECONDARY},
                ],
                "endpoints": emu.endpoints,
            },
            "resilience": {"timeouts": {"connect_s": 1.0, "read_s": 5.0}},
            "limits": {"max_tokens": 2048},
        }
    )
    provider = TracerProvider()
    if spans is not None:
        provider.add_span_processor(SimpleSpanProcessor(spans))
    return Gateway.from_config(config, tracer_provider=provider)


def test_the_max_tokens_clamp_is_in_the_requests_the_emulator_logs(
    bedrock_emulator: Emulator, document: Document
) -> None:
    spans = InMemorySpanExporter()
    gw = gateway(bedrock_emulator, spans)
    try:
        gw.converse(messages=HI)
        document.set(max_tokens="16")
        document.poll()
        gw.converse(messages=HI)
        gw.converse(messages=HI, max_tokens=8)  # below the clamp: left as asked
    finally:
        gw.close()
    assert [c.max_tokens for c in bedrock_emulator.calls()] == [2048, 16, 8]
    chats = [s for s in spans.get_finished_spans() if s.name.startswith("chat")]
    assert [(s.attributes or {}).get(ATTRIBUTE) for s in chats] == [
        None,
        "max_tokens=16",
        "max_tokens=16",
    ]


def test_a_pin_sends_every_call_to_the_pinned_route_and_clearing_it_restores_the_chain(
    bedrock_emulator: Emulator, document: Document
) -> None:
    gw = gateway(bedrock_emulator)
    try:
        document.set(pin=SECONDARY)
        document.poll()
        pinned = gw.converse(messages=HI)
        document.clear()
        document.poll()
        restored = gw.converse(messages=HI)
    finally:
        gw.close()
    assert (pinned.region, restored.region) == (SECONDARY, PRIMARY)
    assert [c.region for c in bedrock_emulator.calls()] == [SECONDARY, PRIMARY]


def test_a_pin_that_names_no_route_of_the_chain_is_ignored(
    bedrock_emulator: Emulator, document: Document
) -> None:
    gw = gateway(bedrock_emulator)
    try:
        document.set(pin="eu-west-1")
        document.poll()
        assert gw.converse(messages=HI).region == PRIMARY
    finally:
        gw.close()


class Steps(TypedDict, total=False):
    ran: Annotated[list[str], operator.add]


def two_steps(document: Document) -> StateGraph[Any, Any, Any, Any]:
    """The first run's ``first`` step turns the kill switch on (an operator, while the run is in
    flight)."""
    flipped: list[bool] = []

    def first(state: Steps, config: RunnableConfig) -> Steps:
        if not flipped:
            flipped.append(True)
            document.set(kill_switch="on")
            document.poll()
        return {"ran": ["first"]}

    def second(state: Steps, config: RunnableConfig) -> Steps:
        return {"ran": ["second"]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(Steps)
    graph.add_node("first", first)
    graph.add_node("second", second)
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph


def test_a_running_graph_stops_at_its_next_step_and_new_runs_are_refused(
    document: Document,
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    runtime = AgentRuntime("ops-test", two_steps(document), tracer_provider=provider)

    result = runtime.run({})
    assert result.stop_reason == "kill_switch"
    assert result.state["ran"] == ["first"]  # "second" never ran
    assert "kill switch is on" in (result.stop_message or "")
    assert "ops clear kill_switch" in (result.stop_message or "")

    with pytest.raises(KillSwitchOn, match="new runs are refused") as refused:
        runtime.run({})
    assert "set by test" in str(refused.value)
    runs = [s for s in spans.get_finished_spans() if s.name == "invoke_agent ops-test"]
    assert [(s.attributes or {}).get("agentkit.stop_reason") for s in runs] == [
        "kill_switch",
        "kill_switch",
    ]
    assert (runs[1].attributes or {}).get(ATTRIBUTE) == "kill_switch=on"

    document.clear()
    document.poll()
    assert runtime.run({}).stop_reason == "completed"


def test_a_tool_re_route_sends_calls_to_the_fallback_with_the_same_response_schema(
    tmp_path: Path, document: Document
) -> None:
    other = {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}
    for name, response in (("advisor", RESPONSE), ("advisor_backup", RESPONSE), ("odd", other)):
        write_tool(tmp_path, name, "1.0.0", REQUEST, response)
    answered: list[str] = []

    def answer(name: str, output: dict[str, Any]) -> Implementation:
        def handler(payload: dict[str, Any]) -> dict[str, Any]:
            answered.append(name)
            return output

        return Implementation(handler)

    registry = ToolRegistry(
        load_contracts(tmp_path),
        {
            "advisor": answer("advisor", {"strategy": "pilot_light"}),
            "advisor_backup": answer("advisor_backup", {"strategy": "warm_standby"}),
            "odd": answer("odd", {"note": "x"}),
        },
    )

    def ask(state: Steps, config: RunnableConfig) -> Steps:
        result = run_context(config).call_tool("advisor", {"rto_minutes": 15, "region": "r"})
        return {"ran": [f"{result.name}:{result.output['strategy']}"]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(Steps)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    runtime = AgentRuntime("reroute", graph, tools=registry)

    document.set(**{"tool.advisor": "advisor_backup"})
    document.poll()
    rerouted = runtime.run({})
    document.set(**{"tool.advisor": "odd"})  # another response schema: not a stand-in
    document.poll()
    refused = runtime.run({})
    assert rerouted.state["ran"] == ["advisor_backup:warm_standby"]
    assert [c["name"] for c in rerouted.tool_calls] == ["advisor_backup"]
    assert refused.state["ran"] == ["advisor:pilot_light"]
    assert answered == ["advisor_backup", "advisor"]
