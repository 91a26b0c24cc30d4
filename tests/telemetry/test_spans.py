"""Step spans of the graph runtime, and the server a chat span names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentkit.bedrock.call import server_of
from agentkit.bedrock.clients import ClientFactory
from agentkit.config import Timeouts
from agentkit.graph import AgentRuntime, approval, run_context


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


def traced(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


def two_steps(second: Any) -> StateGraph[Any, Any, Any, Any]:
    def first(state: Any, config: RunnableConfig) -> dict[str, Any]:
        run_context(config).degrade("no model here")
        return {"first": True}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(dict)
    graph.add_node("first", first)
    graph.add_node("second", second)
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph


def test_a_failing_step_is_an_error_span_under_the_agent(spans: InMemorySpanExporter) -> None:
    def second(state: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("bug")

    runtime = AgentRuntime("probe", two_steps(second), tracer_provider=traced(spans))
    with pytest.raises(KeyError):
        runtime.run({})
    by_name = {s.name: s for s in spans.get_finished_spans()}
    failed, agent = by_name["step second"], by_name["invoke_agent probe"]
    assert failed.parent is not None
    assert agent.context is not None
    assert failed.parent.span_id == agent.context.span_id
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "KeyError"
    assert by_name["step first"].status.status_code is StatusCode.UNSET
    # run-level events stay on the agent span, whichever step raised them
    assert [e.name for e in agent.events if e.name == "agentkit.degraded"] == ["agentkit.degraded"]
    assert not by_name["step first"].events


def test_a_step_paused_for_approval_is_not_an_error(spans: InMemorySpanExporter) -> None:
    def second(state: dict[str, Any]) -> dict[str, Any]:
        return {"approved": approval({"action": "failover"})}

    runtime = AgentRuntime(
        "probe", two_steps(second), checkpointer=InMemorySaver(), tracer_provider=traced(spans)
    )
    assert runtime.run({}, thread_id="t").stop_reason == "interrupted"
    paused = next(s for s in spans.get_finished_spans() if s.name == "step second")
    assert paused.status.status_code is StatusCode.UNSET
    assert dict(paused.attributes or {})["agentkit.step.interrupted"] is True


def test_the_callers_graph_is_left_unwrapped(spans: InMemorySpanExporter) -> None:
    graph = two_steps(lambda state: {"second": True})
    before = {name: spec.runnable for name, spec in graph.nodes.items()}
    AgentRuntime("a", graph, tracer_provider=traced(spans)).run({})
    AgentRuntime("b", graph, tracer_provider=traced(spans)).run({})  # no nested step spans
    assert {name: spec.runnable for name, spec in graph.nodes.items()} == before
    names = [s.name for s in spans.get_finished_spans()]
    assert names.count("step first") == 2
    assert names.count("invoke_agent a") == names.count("invoke_agent b") == 1


def test_server_of_a_region_without_an_override() -> None:
    clients = ClientFactory(Timeouts())
    assert server_of(clients, "eu-west-1") == ("bedrock-runtime.eu-west-1.amazonaws.com", 443)
    assert server_of(clients, "cn-north-1") == ("bedrock-runtime.cn-north-1.amazonaws.com.cn", 443)
    clients.close()


class _NoClients:
    def endpoint(self, region: str) -> None:
        return None

    def client(self, region: str) -> None:
        raise RuntimeError("a stand-in")


def test_server_of_falls_back_to_the_standard_name() -> None:
    assert server_of(_NoClients(), "us-east-1") == ("bedrock-runtime.us-east-1.amazonaws.com", 443)
    assert server_of(_NoClients(), "cn-northwest-1") == (
        "bedrock-runtime.cn-northwest-1.amazonaws.com.cn",
        443,
    )


def test_server_of_an_endpoint_override() -> None:
    clients = ClientFactory(
        Timeouts(),
        {
            "us-east-1": "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com",
            "us-west-2": "http://127.0.0.1:8123",
        },
    )
    assert server_of(clients, "us-east-1") == (
        "vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com",
        443,
    )
    assert server_of(clients, "us-west-2") == ("127.0.0.1", 8123)
