"""Tracer providers from configuration: none (default), console, OTLP, or JSON lines to a file.

Nothing here touches the global provider: the caller passes the provider where it is needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import NoOpTracerProvider
from opentelemetry.trace import TracerProvider as ApiTracerProvider

from agentkit._version import __version__
from agentkit.config import TelemetryConfig
from agentkit.errors import ConfigError

EXPORT_TIMEOUT_S = 3.0  # BatchSpanProcessor never blocks callers; flush waits at most this


class JsonLinesExporter(SpanExporter):
    """One JSON object per finished span, appended to a file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [span.to_json(indent=None) for span in spans]
        with self._lock, self._path.open("a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(json.loads(line), separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def tracer_provider(config: TelemetryConfig, service_name: str = "agentkit") -> ApiTracerProvider:
    if config.exporter == "none":
        return NoOpTracerProvider()
    resource = Resource.create({"service.name": service_name, "service.version": __version__})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(
        BatchSpanProcessor(_exporter(config), export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000))
    )
    return provider


def _exporter(config: TelemetryConfig) -> Any:
    if config.exporter == "console":
        return ConsoleSpanExporter()
    if config.exporter == "jsonl":
        if not config.path:
            raise ConfigError("telemetry.path: the jsonl exporter needs a file path")
        return JsonLinesExporter(Path(config.path))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(timeout=EXPORT_TIMEOUT_S)
