"""Which provider a component uses: explicit, else the CLI command's scope, else the global one.

A global provider can be set once per process, so the test that sets one runs in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracerProvider

from agentkit.telemetry import providers


def test_explicit_wins_over_the_scope_and_the_scope_over_the_global() -> None:
    explicit, scoped, inner = TracerProvider(), TracerProvider(), TracerProvider()
    meter = MeterProvider()
    assert providers.tracer_provider() is not scoped  # the global (a proxy until one is set)
    with providers.scoped(scoped, meter):
        assert providers.tracer_provider() is scoped
        assert providers.tracer_provider(explicit) is explicit
        assert providers.meter_provider() is meter
        with providers.scoped(inner):
            assert providers.tracer_provider() is inner
        assert providers.tracer_provider() is scoped
    assert providers.tracer_provider() is not scoped
    for provider in (explicit, scoped, inner):
        provider.shutdown()
    meter.shutdown()


def test_a_scope_without_a_meter_falls_back_to_the_global_meter() -> None:
    with providers.scoped(NoOpTracerProvider()):
        assert not isinstance(providers.meter_provider(), MeterProvider)
    explicit = NoOpMeterProvider()
    assert providers.meter_provider(explicit) is explicit


GLOBAL_PROBE = textwrap.dedent(
    """
    import json
    from typing import Any

    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, StateGraph
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.bedrock.gateway import Gateway
    from agentkit.config import AgentkitConfig
    from agentkit.emulator import Emulator
    from agentkit.graph import AgentRuntime, run_context
    from agentkit.tools.registry import ToolRegistry

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    HI = [{"role": "user", "content": [{"text": "hi"}]}]

    def ask(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        run_context(config).model.converse(messages=HI, max_tokens=16)
        return {"done": True}

    with Emulator(["us-east-1"]) as emulator:
        config = AgentkitConfig.model_validate({"models": {
            "residency": "us", "endpoints": emulator.endpoints,
            "routes": [{"model": "us.amazon.nova-pro-v1:0", "region": "us-east-1"}],
        }})
        gateway = Gateway.from_config(config)  # no provider passed: the global ones
        graph = StateGraph(dict)
        graph.add_node("ask", ask)
        graph.add_edge(START, "ask")
        graph.add_edge("ask", END)
        AgentRuntime("probe", graph, model=gateway, tools=ToolRegistry({}, {})).run({})
        gateway.close()
    data = reader.get_metrics_data()
    print(json.dumps({
        "spans": [s.name for s in spans.get_finished_spans()],
        "metrics": sorted({m.name for r in data.resource_metrics for s in r.scope_metrics
                           for m in s.metrics}),
    }))
    """
)


def test_the_library_honours_global_providers() -> None:
    result = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROBE], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["spans"] == [
        "chat us.amazon.nova-pro-v1:0",
        "step ask",
        "invoke_agent probe",
    ]
    assert {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "agentkit.gateway.requests",
        "agentkit.gateway.attempts",
        "agentkit.breaker.state",
    } <= set(seen["metrics"])
