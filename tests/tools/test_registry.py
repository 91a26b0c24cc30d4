"""The registry enforces contracts around every call."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.errors import ToolFailed, ToolInputInvalid, ToolNotFound, ToolOutputInvalid
from agentkit.resilience.clock import FakeClock
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry

from .conftest import write_tool


class Advisor:
    def __init__(self, answer: Any = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answer = answer if answer is not None else {"strategy": "pilot_light"}

    def __call__(self, payload: dict[str, Any]) -> Any:
        self.seen.append(payload)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def registry(tmp_path: Path, impls: dict[str, Implementation], **options: Any) -> ToolRegistry:
    return ToolRegistry(load_contracts(tmp_path), impls, **options)


def test_valid_call_returns_a_validated_result_and_a_span(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.3.0")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    advisor = Advisor()
    reg = registry(tmp_path, {"advisor": Implementation(advisor)}, tracer_provider=provider)
    result = reg.call("advisor", {"rto_minutes": 15, "region": "eu-west-1"}, call_id="c1")
    assert (result.name, result.version, result.output) == (
        "advisor",
        "1.3.0",
        {"strategy": "pilot_light"},
    )
    (span,) = spans.get_finished_spans()
    assert span.name == "execute_tool advisor"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "advisor",
        "gen_ai.tool.call.id": "c1",
        "agentkit.tool.version": "1.3.0",
        "agentkit.tool.side_effect": "read_only",
    }


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"rto_minutes": -1, "region": "x"}, "properties/rto_minutes/exclusiveMinimum"),
        ({"region": "x"}, "required"),
        ({"rto_minutes": 5, "region": "x", "extra": 1}, "additionalProperties"),
    ],
)
def test_invalid_input_never_reaches_the_tool(
    tmp_path: Path, payload: dict[str, Any], path: str
) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    advisor = Advisor()
    with pytest.raises(ToolInputInvalid) as caught:
        registry(tmp_path, {"advisor": Implementation(advisor)}).call("advisor", payload)
    assert caught.value.schema_path == path
    assert advisor.seen == []


def test_semantic_checks_run_after_the_schema(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    advisor = Advisor()
    impl = Implementation(
        advisor, check_request=lambda p: ["unknown Region"] if p["region"] == "mars" else []
    )
    with pytest.raises(ToolInputInvalid, match="unknown Region"):
        registry(tmp_path, {"advisor": impl}).call("advisor", {"rto_minutes": 5, "region": "mars"})
    assert advisor.seen == []


def test_output_violating_the_response_schema_is_caught(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    reg = registry(tmp_path, {"advisor": Implementation(Advisor({"strategy": "yolo"}))})
    with pytest.raises(ToolOutputInvalid, match="yolo"):
        reg.call("advisor", {"rto_minutes": 5, "region": "r"})


def test_timeout_breaker_and_contract_compatible_fallback(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0", fallback="backup", timeout_s=0.05)
    write_tool(tmp_path, "backup", "1.0.0")
    release = threading.Event()
    backup = Advisor({"strategy": "warm_standby"})

    def stuck(payload: dict[str, Any]) -> dict[str, Any]:
        release.wait(5)
        return {"strategy": "pilot_light"}

    clock = FakeClock()
    reg = registry(
        tmp_path, {"advisor": Implementation(stuck), "backup": Implementation(backup)}, clock=clock
    )
    payload = {"rto_minutes": 5, "region": "r"}
    try:
        first = reg.call("advisor", payload)
        assert (first.name, first.fallback_from, first.output) == (
            "backup",
            "advisor",
            {"strategy": "warm_standby"},
        )
        reg.call("advisor", payload)
        reg.call("advisor", payload)  # third timeout opens the tool's breaker
        assert len(backup.seen) == 3
        fast = reg.call("advisor", payload)  # breaker open: straight to the fallback, no wait
        assert fast.fallback_from == "advisor"
        assert len(backup.seen) == 4
    finally:
        release.set()
        reg.close()


def test_failure_without_fallback_is_tool_failed(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    reg = registry(tmp_path, {"advisor": Implementation(Advisor(RuntimeError("db down")))})
    with pytest.raises(ToolFailed, match="RuntimeError: db down"):
        reg.call("advisor", {"rto_minutes": 5, "region": "r"})


def test_unknown_tool(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    with pytest.raises(ToolNotFound, match="known: advisor"):
        registry(tmp_path, {}).call("nope", {})
