"""The ``mcp`` suite's provider: agentkit's tools as an MCP client sees them.

A case's prompt is a JSON object ``{"tool": NAME, "arguments": {...}}``. The call goes through
the server ``agentkit mcp serve`` runs (:func:`agentkit.serve.mcp.build_server` over the built-in
registry), in memory, with the official SDK's client session, so what is graded is what a client
receives: ``isError``, the text content and ``structuredContent``. The metadata holds the span
names, whether any tool ran (an ``execute_tool`` span), and for a case with ``sensitive`` strings
where they were found: in what the client received or in the exported spans.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class McpDriver:
    """One MCP server over the built-in registry per promptfoo worker; calls are serialised."""

    def __init__(self) -> None:
        from agentkit.agents.tools import builtin_registry
        from agentkit.guardrails.pii import redact_value
        from agentkit.serve.mcp import build_server

        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        # tool arguments and results on the spans (redacted), as the safety suite captures them
        self.registry = builtin_registry(
            tracer_provider=tracer_provider, capture_content=redact_value
        )
        self.server = build_server(self.registry, tracer_provider=tracer_provider)
        self._lock = threading.Lock()

    def call(self, prompt: str, context: Mapping[str, Any]) -> dict[str, Any]:
        import anyio

        request = json.loads(prompt)
        metadata: Mapping[str, Any] = (context.get("test") or {}).get("metadata") or {}
        with self._lock:
            self.spans.clear()
            result = anyio.run(self._call, request["tool"], request.get("arguments") or {})
            spans = self.spans.get_finished_spans()
        output = json.dumps(
            {
                "isError": bool(result.isError),
                "text": " ".join(getattr(item, "text", "") for item in result.content),
                "structuredContent": result.structuredContent,
            },
            ensure_ascii=False,
        )
        exported = json.dumps([json.loads(span.to_json()) for span in spans], ensure_ascii=False)
        meta: dict[str, Any] = {
            "spans": [span.name for span in spans],
            "executed": any(span.name.startswith("execute_tool ") for span in spans),
            "mode": "mcp",
        }
        sensitive = [str(s) for s in metadata.get("sensitive") or []]
        if sensitive:
            surfaces = {"received": output, "spans": exported}
            meta["leaks"] = {
                name: [s for s in sensitive if s in text] for name, text in surfaces.items()
            }
            meta["searched_bytes"] = {name: len(text) for name, text in surfaces.items()}
        return {"output": output, "metadata": meta}

    async def _call(self, tool: str, arguments: dict[str, Any]) -> Any:
        from mcp.shared.memory import create_connected_server_and_client_session

        async with create_connected_server_and_client_session(self.server) as session:
            return await session.call_tool(tool, arguments)

    def close(self) -> None:
        self.registry.close()
