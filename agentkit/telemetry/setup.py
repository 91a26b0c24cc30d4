"""The CLI's OpenTelemetry SDK set-up, from ``telemetry:`` in agentkit.yaml and ``OTEL_*``.

Exporters (``telemetry.exporter``): ``none`` (default: nothing here is used), ``console``
(spans and metrics as JSON on **stderr**, so ``--json`` on stdout stays parseable), ``otlp``
(OTLP over HTTP; ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
``..._METRICS_ENDPOINT``, read by the exporter itself), or ``jsonl`` (spans appended to
``telemetry.path``, metrics to the same name with ``.metrics.jsonl``).

Spans go through a BatchSpanProcessor (it never blocks the caller) with a 3 s export timeout;
metrics through a PeriodicExportingMetricReader, read once more at shutdown. The resource
honours ``OTEL_SERVICE_NAME`` (default ``agentkit``) and ``OTEL_RESOURCE_ATTRIBUTES``;
``OTEL_SDK_DISABLED=true`` turns everything off. Nothing here installs a global provider: the
CLI scopes these providers to one command (:func:`agentkit.telemetry.providers.scoped`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.metrics import MeterProvider as ApiMeterProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
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
from agentkit.telemetry import providers
from agentkit.telemetry.env import sdk_disabled

EXPORT_TIMEOUT_S = 3.0  # BatchSpanProcessor never blocks callers; flush waits at most this
SHUTDOWN_TIMEOUT_MS = 5_000
DEFAULT_SERVICE_NAME = "agentkit"


def resource() -> Resource:
    """``service.name`` from ``OTEL_SERVICE_NAME`` (or ``OTEL_RESOURCE_ATTRIBUTES``), default
    ``agentkit``; ``service.version`` agentkit's unless the variables say otherwise."""
    from_environment = OTELResourceDetector().detect().attributes
    return Resource.create(
        {
            "service.name": DEFAULT_SERVICE_NAME,
            "service.version": __version__,
            **from_environment,
        }
    )


class JsonLinesExporter(SpanExporter):
    """One JSON object per finished span, appended to a file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [_one_line(span.to_json(indent=None)) for span in spans]
        _append(self._path, self._lock, lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class JsonLinesMetricExporter(MetricExporter):
    """One JSON object per collection (every metric of the process at that moment)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._lock = threading.Lock()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        _append(self._path, self._lock, [_one_line(metrics_data.to_json(indent=None))])
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _one_line(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"))


def _append(path: Path, lock: threading.Lock, lines: list[str]) -> None:
    with lock, path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def metrics_path(spans_path: str | Path) -> Path:
    """Where the jsonl exporter writes metrics: ``spans.jsonl`` -> ``spans.metrics.jsonl``."""
    return Path(spans_path).with_suffix(".metrics.jsonl")


def tracer_provider(
    config: TelemetryConfig, span_processors: Sequence[SpanProcessor] = ()
) -> ApiTracerProvider:
    """An SDK provider exporting as configured (plus ``span_processors``); the API's no-op one
    when there is nothing to export to or ``OTEL_SDK_DISABLED`` is set."""
    exporting = config.exporter != "none"
    if sdk_disabled() or not (exporting or span_processors):
        return NoOpTracerProvider()
    provider = TracerProvider(resource=resource(), shutdown_on_exit=False)
    for processor in span_processors:
        provider.add_span_processor(processor)
    if exporting:
        provider.add_span_processor(
            BatchSpanProcessor(
                span_exporter(config), export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000)
            )
        )
    return provider


def meter_provider(
    config: TelemetryConfig, metric_readers: Sequence[MetricReader] = ()
) -> ApiMeterProvider:
    readers = list(metric_readers)
    if config.exporter != "none":
        readers.append(
            PeriodicExportingMetricReader(
                metric_exporter(config), export_timeout_millis=EXPORT_TIMEOUT_S * 1000
            )
        )
    if sdk_disabled() or not readers:
        return NoOpMeterProvider()
    return MeterProvider(metric_readers=readers, resource=resource(), shutdown_on_exit=False)


def span_exporter(config: TelemetryConfig) -> SpanExporter:
    if config.exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    if config.exporter == "jsonl":
        return JsonLinesExporter(_jsonl_path(config))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(timeout=EXPORT_TIMEOUT_S)


def metric_exporter(config: TelemetryConfig) -> MetricExporter:
    if config.exporter == "console":
        return ConsoleMetricExporter(out=sys.stderr)
    if config.exporter == "jsonl":
        return JsonLinesMetricExporter(metrics_path(_jsonl_path(config)))
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(timeout=EXPORT_TIMEOUT_S)


def _jsonl_path(config: TelemetryConfig) -> Path:
    if not config.path:
        raise ConfigError("telemetry.path: the jsonl exporter needs a file path")
    return Path(config.path)


class Telemetry:
    """The tracer and meter provider of one CLI command, and their end."""

    def __init__(self, tracer: ApiTracerProvider, meter: ApiMeterProvider) -> None:
        self.tracer_provider = tracer
        self.meter_provider = meter

    @contextlib.contextmanager
    def scope(self) -> Iterator[Telemetry]:
        """Components built inside use these providers unless given their own."""
        with providers.scoped(self.tracer_provider, self.meter_provider):
            yield self

    def shutdown(self) -> None:
        """Export what is left and stop. Spans and metrics are flushed side by side, so a
        collector that is down costs one export timeout, not two."""
        ends = []
        end_spans = getattr(self.tracer_provider, "shutdown", None)
        if end_spans is not None:
            ends.append(end_spans)
        meters = self.meter_provider
        if isinstance(meters, MeterProvider):
            ends.append(lambda: meters.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS))
        threads = [threading.Thread(target=end, name="agentkit-telemetry-end") for end in ends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def start(
    config: TelemetryConfig,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
) -> Telemetry:
    """Providers for one command: what ``config`` exports to, plus the given processors and
    readers (chat's in-memory trace, tests' readers)."""
    return Telemetry(
        tracer_provider(config, span_processors), meter_provider(config, metric_readers)
    )
