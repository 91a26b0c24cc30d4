"""agentkit's tools over the Model Context Protocol, for MCP-capable assistants.

Every versioned tool contract of the registry is listed with its request schema as
``inputSchema``, its response schema as ``outputSchema``, the contract version in its title and
annotations from its side-effect class: ``read_only`` is read-only (and so idempotent),
``idempotent`` writes but a repeat changes nothing more, ``mutating`` is destructive and not
idempotent (it requires an ``idempotency_key``; the registry never runs one key twice). A call
goes through the same boundary as an agent's: the registry validates the input and the output
against the contract, times out and breaks; a failure is a tool result with ``isError`` set
(the message names the problem, redacted), never a protocol error. The arguments and the result
pass the guards a user's question and an answer pass (:mod:`agentkit.guardrails.payloads`):
secrets and PII are redacted on the way in and on the way out, and arguments holding a prompt
injection are refused before any tool runs; each guard action is an ``agentkit.guardrail`` event
on the call's ``tools/call {tool}`` server span and a count of ``agentkit.guardrail.events``.
Built on the official SDK's low-level
server (pinned in the ``mcp`` extra); the JSON-RPC framing and both transports are the SDK's:
stdio, and Streamable HTTP (its session manager behind Starlette and uvicorn, with its DNS
rebinding protection on: only the Host names the server was started for are answered).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from opentelemetry.trace import SpanKind

from agentkit._version import __version__
from agentkit.errors import InputError, ToolInputInvalid
from agentkit.guardrails.payloads import PayloadVerdict, check_arguments, redact_payload
from agentkit.serve import public_message
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.guardrails import EVENT_GUARDRAIL, GuardrailMetrics

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider
    from starlette.applications import Starlette
    from starlette.types import Receive, Scope, Send

    from agentkit.tools.contracts import SideEffect
    from agentkit.tools.registry import ToolRegistry

HTTP_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
MCP_METHOD = "mcp.method.name"  # OpenTelemetry's MCP semantic conventions


class ToolCallFailed(Exception):
    """A tool call that failed, with the message its client may see (one line, redacted)."""


def tool_annotations(side_effect: SideEffect) -> types.ToolAnnotations:
    """The MCP tool annotations of a side-effect class (closed world: agentkit's own data)."""
    return types.ToolAnnotations(
        readOnlyHint=side_effect == "read_only",
        destructiveHint=side_effect == "mutating",
        idempotentHint=side_effect != "mutating",
        openWorldHint=False,
    )


def build_server(
    registry: ToolRegistry,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Server[Any, Any]:
    server: Server[Any, Any] = Server("agentkit", version=__version__)
    tracer = providers.get_tracer("agentkit.mcp", tracer_provider)
    guard_events = GuardrailMetrics(meter_provider)

    def guarded(span: Span, guard: str, verdict: PayloadVerdict) -> None:
        for reason in verdict.reasons:
            action = "redacted" if reason.startswith("redacted ") else "blocked"
            guard_events.record(guard, action, reason)
            span.add_event(EVENT_GUARDRAIL, {"stage": guard, "action": action, "detail": reason})

    @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(
                name=contract.name,
                title=f"{contract.name} v{contract.version}",
                description=contract.description,
                inputSchema=contract.request_schema,
                outputSchema=contract.response_schema,
                annotations=tool_annotations(contract.side_effect),
            )
            for contract in registry.contracts()
        ]

    # The registry validates input and output against the versioned contract: one boundary,
    # one set of messages, for agents and MCP clients alike.
    @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        with tracer.start_as_current_span(f"tools/call {name}", kind=SpanKind.SERVER) as span:
            span.set_attribute(MCP_METHOD, "tools/call")
            span.set_attribute(sc.TOOL_NAME, name)
            checked = check_arguments(arguments)
            guarded(span, "input", checked)
            if checked.refusal is not None:
                raise ToolInputInvalid(f"{name} refused: {checked.refusal}")
            try:
                result = await anyio.to_thread.run_sync(registry.call, name, checked.payload)
            except Exception as error:  # the SDK turns it into a result with isError set
                raise ToolCallFailed(public_message(error)) from None
            shown = redact_payload(result.output)
            guarded(span, "output", shown)
            return dict(shown.payload)

    return server


async def serve_stdio(registry: ToolRegistry) -> None:
    """Serve until the client closes stdin."""
    server = build_server(registry)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


class _Endpoint:
    """The session manager as the ASGI app of one route (no redirect from /mcp to /mcp/)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def http_app(registry: ToolRegistry, *, hosts: tuple[str, ...] = LOOPBACK) -> Starlette:
    """The Streamable HTTP endpoint at ``/mcp``, answering only requests whose ``Host`` (and
    ``Origin``, when sent) names one of ``hosts`` (on any port)."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{host}:*" for host in hosts],
        allowed_origins=[f"{scheme}://{host}:*" for host in hosts for scheme in ("http", "https")],
    )
    manager = StreamableHTTPSessionManager(build_server(registry), security_settings=security)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route(HTTP_PATH, endpoint=_Endpoint(manager))], lifespan=lifespan)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_http(
    registry: ToolRegistry,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted. The socket is bound and listening first, so ``port`` 0 picks a
    free port and ``on_ready`` is told a URL that clients can connect to at once.

    Loopback only: the server has no authentication, and its tools read and write files with
    the server's permissions (``fmea_generate``'s ``out_dir``), so a non-loopback ``host`` is
    refused (an authenticating proxy on the same host can front it)."""
    import uvicorn

    if not _loopback(host):
        raise InputError(
            f"--host {host}: agentkit mcp serve listens on loopback only (127.0.0.1, ::1, "
            "localhost): it has no authentication and its tools write files; put an "
            "authenticating proxy on this host in front of it instead"
        )

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    bound = sock.getsockname()[1]
    named = f"[{host}]" if family == socket.AF_INET6 else host
    app = http_app(registry)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    if on_ready is not None:
        on_ready(f"http://{named}:{bound}{HTTP_PATH}")
    server.run(sockets=[sock])
