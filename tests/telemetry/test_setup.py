from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.trace import NoOpTracerProvider

from agentkit.config import TelemetryConfig
from agentkit.errors import ConfigError
from agentkit.telemetry.setup import tracer_provider


def test_no_exporter_is_a_no_op_provider() -> None:
    assert isinstance(tracer_provider(TelemetryConfig()), NoOpTracerProvider)


def test_jsonl_exporter_writes_one_span_per_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    provider = tracer_provider(TelemetryConfig(exporter="jsonl", path=str(path)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat m") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
    with tracer.start_as_current_span("execute_tool t"):
        pass
    provider.shutdown()  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["name"] for line in lines] == ["chat m", "execute_tool t"]
    assert lines[0]["attributes"] == {"gen_ai.operation.name": "chat"}
    assert lines[0]["resource"]["attributes"]["service.name"] == "agentkit"


def test_jsonl_exporter_needs_a_path() -> None:
    with pytest.raises(ConfigError, match=r"telemetry\.path"):
        tracer_provider(TelemetryConfig(exporter="jsonl"))
