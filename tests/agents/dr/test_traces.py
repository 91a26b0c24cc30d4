"""What the DR advisor's traces hold: the span tree, prompt versions, tool spans, guardrail
events, the server each model call went to, no PII."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.emulator.guardrails import GuardrailCatalog, GuardrailRegistry

PII = (
    "RTO 15 min RPO 1 min payments-api in us-east-1, call +1 415-555-0199 or ops@example.com, "
    "key AKIAIOSFODNN7EXAMPLE"
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


def emulated(emu: Emulator, **extra: object) -> AgentkitConfig:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": emu.endpoints,
                "routes": [
                    {"model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "region": "us-east-1"}
                ],
            },
            "telemetry": {"capture_content": True},
            **extra,
        }
    )


def everything(spans: tuple[ReadableSpan, ...]) -> str:
    return json.dumps([json.loads(s.to_json()) for s in spans])


@pytest.mark.emulator(regions=["us-east-1"])
def test_pii_never_reaches_spans_even_with_content_capture(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    runtime = build_advisor(emulated(bedrock_emulator), tracer_provider=provider(spans))
    answer = ask(runtime, PII)
    recorded = everything(spans.get_finished_spans())
    for secret in ("415-555-0199", "ops@example.com", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in recorded
        assert secret not in answer.answer
    assert "{EMAIL}" in recorded  # content was captured, redacted
    names = [s.name for s in spans.get_finished_spans()]
    assert "invoke_agent dr-advisor" in names
    assert names.count("execute_tool dr_advisor") == 1
    assert any(n.startswith("chat us.anthropic") for n in names)


@pytest.mark.emulator(regions=["us-east-1"])
def test_prompt_versions_are_recorded(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    runtime = build_advisor(emulated(bedrock_emulator), tracer_provider=provider(spans))
    ask(runtime, "RTO 15 min RPO 1 min payments-api in us-east-1")
    agent = next(s for s in spans.get_finished_spans() if s.name == "invoke_agent dr-advisor")
    prompts = [dict(e.attributes or {}) for e in agent.events if e.name == "agentkit.prompt"]
    assert prompts == [
        {"name": "dr_advisor.extract", "version": "1.0.0"},
        {"name": "dr_advisor.compose", "version": "1.1.0"},
    ]


CATALOG = GuardrailCatalog.model_validate(
    {"us-east-1": [{"id": "gr-dr", "denied_topics": [{"name": "ransom", "examples": ["ransom"]}]}]}
)


@pytest.mark.emulator(regions=["us-east-1"], guardrails=GuardrailRegistry(CATALOG))
def test_a_bedrock_guardrail_intervention_is_reported(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    config = emulated(
        bedrock_emulator, guardrails={"us-east-1": {"id": "gr-dr", "version": "DRAFT"}}
    )
    runtime = build_advisor(config, tracer_provider=provider(spans))
    answer = ask(
        runtime, "RTO 15 min RPO 1 min for payments-api in us-east-1 after a ransom attack"
    )
    agent = next(s for s in spans.get_finished_spans() if s.name == "invoke_agent dr-advisor")
    events = [dict(e.attributes or {}) for e in agent.events if e.name == "agentkit.guardrail"]
    assert any(e["stage"] == "bedrock" and e["action"] == "intervened" for e in events)
    assert answer.strategy == "warm_standby"  # the deterministic core still answered


def tree(spans: tuple[ReadableSpan, ...]) -> list[tuple[str, str | None]]:
    """(span, parent span) names, in start order."""
    names = {s.context.span_id: s.name for s in spans if s.context is not None}
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    return [(s.name, names.get(s.parent.span_id) if s.parent else None) for s in ordered]


@pytest.mark.emulator(regions=["us-east-1"])
def test_span_tree_is_agent_then_steps_then_model_and_tool_calls(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    runtime = build_advisor(emulated(bedrock_emulator), tracer_provider=provider(spans))
    ask(runtime, "RTO 15 min RPO 1 min payments-api in us-east-1")
    chat = "chat us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert tree(spans.get_finished_spans()) == [
        ("invoke_agent dr-advisor", None),
        ("step guard_input", "invoke_agent dr-advisor"),
        ("step extract", "invoke_agent dr-advisor"),
        (chat, "step extract"),
        ("step advise", "invoke_agent dr-advisor"),
        ("execute_tool dr_advisor", "step advise"),
        ("execute_tool failover_runbook", "step advise"),
        ("step compose", "invoke_agent dr-advisor"),
        (chat, "step compose"),
        ("step guard_output", "invoke_agent dr-advisor"),
        ("step approve", "invoke_agent dr-advisor"),
        ("step finish", "invoke_agent dr-advisor"),
    ]
    steps = [s for s in spans.get_finished_spans() if s.name.startswith("step ")]
    attributes = [dict(s.attributes or {}) for s in steps]
    indexes = [int(str(a["agentkit.step.index"])) for a in attributes]
    assert indexes == sorted(indexes)
    assert {a["gen_ai.agent.name"] for a in attributes} == {"dr-advisor"}
    assert {s.kind for s in steps} == {SpanKind.INTERNAL}


@pytest.mark.emulator(regions=["us-east-1"])
def test_chat_spans_name_the_server_they_called(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    runtime = build_advisor(emulated(bedrock_emulator), tracer_provider=provider(spans))
    ask(runtime, "RTO 15 min RPO 1 min payments-api in us-east-1")
    endpoint = urlsplit(bedrock_emulator.endpoints["us-east-1"])
    chats = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    assert len(chats) == 2
    for span in chats:
        attributes = dict(span.attributes or {})
        assert attributes["server.address"] == endpoint.hostname == "127.0.0.1"
        assert attributes["server.port"] == endpoint.port
        assert attributes["cloud.region"] == "us-east-1"
