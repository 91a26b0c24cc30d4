"""The CLI's SDK set-up: exporters, the resource from OTEL_* variables, metrics, shutdown."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import NoOpTracerProvider

from agentkit.config import TelemetryConfig
from agentkit.errors import ConfigError
from agentkit.telemetry.setup import metrics_path, resource, start, tracer_provider

OTEL_VARIABLES = (
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_no_exporter_is_a_no_op_provider() -> None:
    assert isinstance(tracer_provider(TelemetryConfig()), NoOpTracerProvider)
    telemetry = start(TelemetryConfig())
    assert isinstance(telemetry.tracer_provider, NoOpTracerProvider)
    assert isinstance(telemetry.meter_provider, NoOpMeterProvider)
    telemetry.shutdown()


def test_sdk_disabled_turns_a_configured_exporter_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = start(TelemetryConfig(exporter="jsonl", path=str(tmp_path / "spans.jsonl")))
    assert isinstance(telemetry.tracer_provider, NoOpTracerProvider)
    assert isinstance(telemetry.meter_provider, NoOpMeterProvider)


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


def test_service_name_and_resource_attributes_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resource().attributes["service.name"] == "agentkit"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "dr-advisor-prod")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,team=sre")
    attributes = resource().attributes
    assert attributes["service.name"] == "dr-advisor-prod"
    assert attributes["deployment.environment.name"] == "prod"
    assert attributes["team"] == "sre"
    assert attributes["service.version"]  # agentkit's own, unless the variables say otherwise


def test_service_name_from_resource_attributes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")
    assert resource().attributes["service.name"] == "from-attributes"


def test_console_exporter_writes_spans_and_metrics_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry = start(TelemetryConfig(exporter="console"))
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("agentkit ask"):
        pass
    telemetry.meter_provider.get_meter("t").create_counter("agentkit.test.count").add(1)
    telemetry.shutdown()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert '"name": "agentkit ask"' in captured.err
    assert "agentkit.test.count" in captured.err


def test_jsonl_metrics_go_beside_the_spans(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    assert metrics_path(spans) == tmp_path / "spans.metrics.jsonl"
    telemetry = start(TelemetryConfig(exporter="jsonl", path=str(spans)))
    telemetry.meter_provider.get_meter("t").create_counter("agentkit.test.count").add(2)
    telemetry.shutdown()  # the reader collects once more at shutdown
    (line,) = metrics_path(spans).read_text().splitlines()
    (resource_metrics,) = json.loads(line)["resource_metrics"]
    assert resource_metrics["resource"]["attributes"]["service.name"] == "agentkit"
    (metric,) = resource_metrics["scope_metrics"][0]["metrics"]
    assert metric["name"] == "agentkit.test.count"
    assert metric["data"]["data_points"][0]["value"] == 2


def test_extra_readers_and_processors_are_added() -> None:
    reader = InMemoryMetricReader()
    telemetry = start(TelemetryConfig(), metric_readers=[reader])
    telemetry.meter_provider.get_meter("t").create_counter("c").add(1)
    data = reader.get_metrics_data()
    assert data is not None
    assert data.resource_metrics[0].scope_metrics[0].metrics[0].name == "c"
    telemetry.shutdown()


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP collector on loopback that records what it receives."""
    received: list[tuple[str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_otlp_exports_spans_and_metrics_to_the_configured_endpoint(
    monkeypatch: pytest.MonkeyPatch, collector: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "sre-agent")
    telemetry = start(TelemetryConfig(exporter="otlp"))
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("agentkit doctor"):
        pass
    telemetry.meter_provider.get_meter("t").create_counter("agentkit.test.count").add(1)
    telemetry.shutdown()  # flushes both before returning
    paths = sorted(path for path, _ in received)
    assert paths == ["/v1/metrics", "/v1/traces"]
    traces = ExportTraceServiceRequest.FromString(dict(received)["/v1/traces"])
    (spans,) = traces.resource_spans
    service = {a.key: a.value.string_value for a in spans.resource.attributes}["service.name"]
    assert service == "sre-agent"
    assert spans.scope_spans[0].spans[0].name == "agentkit doctor"
    metrics = ExportMetricsServiceRequest.FromString(dict(received)["/v1/metrics"])
    names = [m.name for m in metrics.resource_metrics[0].scope_metrics[0].metrics]
    assert names == ["agentkit.test.count"]


def test_otlp_traces_endpoint_overrides_the_base_endpoint(
    monkeypatch: pytest.MonkeyPatch, collector: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # discard port
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{url}/custom/traces")
    provider = tracer_provider(TelemetryConfig(exporter="otlp"))
    with provider.get_tracer("t").start_as_current_span("agentkit gameday"):
        pass
    provider.shutdown()  # type: ignore[attr-defined]
    assert [path for path, _ in received] == ["/custom/traces"]
