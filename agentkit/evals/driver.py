"""Drive the DR advisor for promptfoo's Python provider, in-process and warm.

``evals/provider.py`` calls :func:`call_api` with promptfoo's ``(prompt, options, context)``.
The output is the object ``agentkit ask --json`` prints (as JSON text); the metadata carries
what the assertions need: the tool calls, the answering Region, the degraded flag, the trace
id, the spans of the run, and (when a test names sensitive strings) where they were found.

Modes (``options.config.mode``):

- ``offline`` (default): the model tier is off, as with no AWS account; one advisor per worker.
- ``emulator``: the advisor's gateway talks to an in-process Bedrock emulator (one per worker)
  under the fault plan in the test's ``metadata.faults``; a fresh gateway per case, so breaker
  state never leaks from one case into the next.
- ``live``: ``agentkit.yaml`` (``$AGENTKIT_CONFIG`` or ./agentkit.yaml) against real Bedrock.
- ``mcp``: not the advisor but agentkit's MCP server (:mod:`agentkit.evals.mcp_driver`).

Multi-turn: tests that share ``metadata.conversationId`` share one session.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EMULATOR_REGIONS = ("us-east-1", "us-west-2", "us-east-2")
DEFAULT_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
# Short timeouts and back-offs: a black hole or a throttle storm costs seconds, not minutes.
EMULATOR_SETTINGS: dict[str, Any] = {
    "models": {
        "residency": "us",
        "routes": [
            {"model": DEFAULT_MODEL, "region": "us-east-1"},
            {"model": DEFAULT_MODEL, "region": "us-west-2"},
        ],
    },
    "resilience": {
        "timeouts": {"connect_s": 0.5, "read_s": 1.0},
        "retry": {"max_attempts": 2, "base_delay_s": 0.01, "max_delay_s": 0.05},
        "breaker": {"fail_max": 3, "reset_timeout_s": 60},
    },
    "telemetry": {"capture_content": True},
}
OFFLINE_REASON = (
    "model tier off for the offline eval; answering with agentkit's deterministic engine"
)


class Driver:
    """One advisor set-up per promptfoo worker and mode; calls are serialised."""

    def __init__(self, mode: str, config: Mapping[str, Any]) -> None:
        if mode not in ("offline", "emulator", "live"):
            raise ValueError(f"mode: expected offline, emulator or live, got {mode!r}")
        from agentkit.agents.sessions import SessionStore

        self.mode = mode
        self.config = dict(config)
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix=f"agentkit-eval-{mode}-"))
        self.store = SessionStore(self._dir / "sessions.sqlite")
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.emulator: Any = None
        self._runtime: Any = None
        self._run_prefix = uuid.uuid4().hex[:8]

    # -- set-up -----------------------------------------------------------------------------

    def _settings(self, overrides: Mapping[str, Any]) -> Any:
        from agentkit.config import AgentkitConfig, load_config

        if self.mode == "live":
            return load_config(
                os.environ.get("AGENTKIT_CONFIG") or self.config.get("agentkit_config")
            )
        doc = _deep_merge(EMULATOR_SETTINGS if self.mode == "emulator" else {}, {})
        doc = _deep_merge(doc, self.config.get("agentkit") or {})
        doc = _deep_merge(doc, overrides)
        doc.setdefault("telemetry", {})["capture_content"] = True
        if self.mode == "emulator":
            doc["models"]["endpoints"] = self._emulator().endpoints
            if self.config.get("fallback") is False:
                doc["models"]["routes"] = doc["models"]["routes"][:1]
        return AgentkitConfig.model_validate(doc)

    def _emulator(self) -> Any:
        if self.emulator is None:
            from agentkit.emulator import Emulator
            from agentkit.emulator.guardrails import GuardrailCatalog, GuardrailRegistry

            catalog = self.config.get("guardrails")
            registry = (
                GuardrailRegistry(GuardrailCatalog.model_validate(catalog)) if catalog else None
            )
            regions = list(self.config.get("regions") or EMULATOR_REGIONS)
            self.emulator = Emulator(regions, guardrails=registry).start()
        return self.emulator

    def _advisor(self, overrides: Mapping[str, Any]) -> Any:
        from agentkit.agents.dr.agent import build_advisor

        if self.mode == "offline":
            if self._runtime is None:
                self._runtime = build_advisor(
                    self._settings({}),
                    checkpointer=self.store.checkpointer,
                    tracer_provider=self.tracer_provider,
                    model=None,
                )
                self._runtime.offline_reason = OFFLINE_REASON
            return self._runtime
        if self.mode == "live" and self._runtime is not None:
            return self._runtime
        runtime = build_advisor(
            self._settings(overrides),
            checkpointer=self.store.checkpointer,
            tracer_provider=self.tracer_provider,
        )
        if self.mode == "live":
            self._runtime = runtime
        return runtime

    # -- one call ---------------------------------------------------------------------------

    def call(self, prompt: str, context: Mapping[str, Any]) -> dict[str, Any]:
        from agentkit.agents.dr.agent import ask

        metadata: dict[str, Any] = dict((context.get("test") or {}).get("metadata") or {})
        with self._lock:
            if self.mode == "emulator":
                self._emulator().set_faults(metadata.get("faults") or {})
                self.emulator.set_knowledge(metadata.get("knowledge") or {})
                self.emulator.clear_calls()
            runtime = self._advisor(metadata.get("agentkit") or {})
            self.spans.clear()
            session = self._session(metadata)
            started = time.perf_counter()
            answer = ask(runtime, prompt, session)
            elapsed = time.perf_counter() - started
            spans = self.spans.get_finished_spans()
            result = answer.to_json()
            output = json.dumps(result, ensure_ascii=False)
            meta = {
                "tool_calls": [call["name"] for call in result["tool_calls"]],
                "region": result["region"],
                "degraded": result["degraded"],
                "degraded_reason": result["degraded_reason"],
                "fell_back": result["fell_back"],
                "answer_source": result["answer_source"],
                "strategy": result["strategy"],
                "session": result["session"],
                "trace_id": _trace_id(spans),
                "spans": [_span_summary(span) for span in spans],
                "latency_s": round(elapsed, 3),
                "mode": self.mode,
            }
            if self.emulator is not None and self.mode == "emulator":
                meta["emulator_calls"] = [_call_summary(c) for c in self.emulator.calls()]
            sensitive = [str(s) for s in metadata.get("sensitive") or []]
            if sensitive:
                meta["leaks"] = self.leaks(sensitive, output, spans)
                meta["searched_bytes"] = self.searched_bytes(output, spans)
        return {"output": output, "metadata": meta}

    def _session(self, metadata: Mapping[str, Any]) -> str:
        conversation = metadata.get("conversationId")
        if conversation:
            return f"{self._run_prefix}-{conversation}"
        return f"{self._run_prefix}-{uuid.uuid4().hex[:12]}"

    def leaks(
        self, sensitive: list[str], output: str, spans: tuple[ReadableSpan, ...]
    ) -> dict[str, list[str]]:
        """Which ``sensitive`` strings appear in the answer, the stored session, the spans."""
        stored = b"".join(
            path.read_bytes()
            for path in sorted(self._dir.glob("sessions.sqlite*"))
            if path.is_file()
        )
        exported = json.dumps([json.loads(span.to_json()) for span in spans], ensure_ascii=False)
        surfaces = {"answer": output.encode(), "session": stored, "spans": exported.encode()}
        return {
            surface: [s for s in sensitive if s.encode() in haystack]
            for surface, haystack in surfaces.items()
        }

    def searched_bytes(self, output: str, spans: tuple[ReadableSpan, ...]) -> dict[str, int]:
        """How much of each surface the leak search read (a zero would make it vacuous)."""
        stored = sum(p.stat().st_size for p in self._dir.glob("sessions.sqlite*") if p.is_file())
        exported = sum(len(span.to_json()) for span in spans)
        return {"answer": len(output.encode()), "session": stored, "spans": exported}

    def close(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self.store.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = json.loads(json.dumps(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = json.loads(json.dumps(value))
    return merged


def _trace_id(spans: tuple[ReadableSpan, ...]) -> str | None:
    for span in spans:
        if span.name.startswith("invoke_agent") and span.context is not None:
            return f"{span.context.trace_id:032x}"
    return None


def _span_summary(span: ReadableSpan) -> dict[str, Any]:
    attributes = dict(span.attributes or {})
    keep = ("gen_ai.tool.name", "gen_ai.request.model", "cloud.region", "error.type")
    return {
        "name": span.name,
        "status": span.status.status_code.name,
        "attributes": {k: attributes[k] for k in keep if k in attributes},
        "events": [
            {"name": event.name, "attributes": dict(event.attributes or {})}
            for event in span.events
        ],
    }


def _call_summary(record: Any) -> dict[str, Any]:
    return {
        "region": record.region,
        "served_region": getattr(record, "served_region", None),
        "operation": record.operation,
        "status": record.status,
        "error_code": record.error_code,
    }


class Provider(Protocol):
    def call(self, prompt: str, context: Mapping[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


_DRIVERS: dict[tuple[str, str], Provider] = {}
_DRIVERS_LOCK = threading.Lock()


def new_driver(config: Mapping[str, Any]) -> Provider:
    """A driver for this provider configuration: ``mode`` mcp calls agentkit's MCP server, the
    other modes ask the DR advisor."""
    mode = str(config.get("mode") or "offline")
    if mode == "mcp":
        from agentkit.evals.mcp_driver import McpDriver

        return McpDriver()
    return Driver(mode, config)


def driver_for(config: Mapping[str, Any]) -> Provider:
    """The worker's warm driver for this provider configuration."""
    mode = str(config.get("mode") or "offline")
    key = (mode, json.dumps({k: v for k, v in config.items() if k != "basePath"}, sort_keys=True))
    with _DRIVERS_LOCK:
        if key not in _DRIVERS:
            _DRIVERS[key] = new_driver(config)
            atexit.register(_DRIVERS[key].close)
        return _DRIVERS[key]


def call_api(
    prompt: str, options: Mapping[str, Any] | None, context: Mapping[str, Any] | None
) -> dict[str, Any]:
    """promptfoo's Python provider entry point; errors become promptfoo provider errors."""
    config = dict((options or {}).get("config") or {})
    try:
        return driver_for(config).call(prompt, context or {})
    except Exception as error:  # a provider error is reported per case, never a crash
        return {"error": f"{type(error).__name__}: {error}"}
