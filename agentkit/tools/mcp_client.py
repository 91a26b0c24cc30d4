"""Tools on MCP servers, called with the gateway's discipline (docs/mcp.md).

Each server of ``mcp_servers:`` in agentkit.yaml gets one initialised session, kept on its own
event-loop thread and reused by every call (the official ``mcp`` SDK speaks the protocol; this
module never frames a message itself); a dropped transport is reopened by the next call. A call
has a deadline (the server's ``timeout_s``, or less when the caller's budget is shorter), waits
for one of the server's ``max_concurrent`` slots (``max_queue`` may wait; more are refused at
once), and goes through the server's circuit breaker (``mcp:NAME``; its state and transitions
are the ``agentkit.tool.breaker.*`` metrics, with the attribute ``agentkit.mcp.server``, so the
alarm on an open tool breaker covers MCP servers too). Only a transport failure is retried, and
only for a ``read_only`` or ``idempotent`` tool, or a ``mutating`` one called with an
``idempotency_key`` (the server deduplicates the repeat); the session is reopened first. A
server with ``hedge_after_s`` races a slow ``read_only`` or ``idempotent`` call on its fallback
(:mod:`agentkit.tools.mcp_hedge`); a ``mutating`` call is never hedged.

Every failure is translated into agentkit's error tree in one place, :func:`translate`:

==========================  ===============================  =========  ==========  =========
what happened               error                            retried    trips       fallback
==========================  ===============================  =========  ==========  =========
JSON-RPC invalid params     ToolInputInvalid                 no         no          no
JSON-RPC method not found   ToolVersionMismatch (contract)   no         no          no
result with ``isError``     McpToolError (a tool error)      no         no          no
transport dropped           McpTransportFailed               safe only  yes         yes
server unreachable          McpUnreachable (never sent)      yes        yes         yes
deadline passed             McpTimedOut                      no         yes         yes
other JSON-RPC error        ToolFailed                       no         yes         yes
==========================  ===============================  =========  ==========  =========

A server's tools are the ones recorded for it in ``mcp.lock.json`` (written beside agentkit.yaml
by ``agentkit tools lock -c agentkit.yaml``): name, side-effect class and the digest of their
input and output schemas. When a session opens, the served list is compared with the lock and a
drifted schema is refused with one line naming the tool and both digests. Requests and
``structuredContent`` are validated against the locked schemas. A failed server hands the call
to its ``fallback`` server when that server serves the tool with the same output schema digest
(never a ``mutating`` call that may already have run; one that was never sent, because no
session could be opened, may go).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker
from opentelemetry import trace
from opentelemetry.metrics import MeterProvider

from agentkit.config import McpServerConfig, optional_module
from agentkit.errors import (
    CircuitOpen,
    ConfigError,
    ToolBusy,
    ToolError,
    ToolFailed,
    ToolInputInvalid,
    ToolNotFound,
    ToolOutputInvalid,
    ToolVersionMismatch,
)
from agentkit.resilience.breaker import BreakerPolicy, MemoryBreakerStore, RouteBreaker
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.listeners import BreakerNames, BreakerTelemetry
from agentkit.tools.bulkhead import BulkheadPolicy
from agentkit.tools.contracts import IDEMPOTENCY_KEY, SideEffect, ToolContract
from agentkit.tools.mcp_hedge import Hedger, Recorder, SpanLike
from agentkit.yamlsource import read_json

if TYPE_CHECKING:
    from mcp import ClientSession, types

    from agentkit.tools.registry import ToolRegistry

MCP_LOCK_NAME = "mcp.lock.json"
INSTALL_HINT = "pip install 'agentkit-bedrock[mcp]'"
SERVER = "agentkit.mcp.server"  # span attributes of an execute_tool span
ATTEMPTS = "agentkit.mcp.attempts"
OUTCOME = "agentkit.mcp.outcome"
# A server's breaker reports beside the local tools' (the same instruments, so the same alarm),
# named by the server.
SERVER_BREAKERS = BreakerNames(
    sc.METRIC_TOOL_BREAKER_STATE,
    sc.METRIC_TOOL_BREAKER_TRANSITIONS,
    SERVER,
    prefix="mcp:",
    what="tool or MCP server",
)
# A tool without an outputSchema answers its content blocks.
CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"content": {"type": "array"}},
    "required": ["content"],
}
_CLOSE_WAIT_S = 5.0
_RETRY_PAUSE_S = 0.05  # times the attempt number


class McpTransportFailed(ToolFailed):
    """The connection to the server failed or dropped: worth one more try on a new session,
    when a repeat cannot execute the tool twice."""


class McpUnreachable(McpTransportFailed):
    """No session could be opened: the call was never sent, so even a ``mutating`` call may be
    retried and sent to the fallback server."""


class McpTimedOut(ToolFailed):
    """The call's deadline passed before the server answered."""


class McpToolError(ToolFailed):
    """The tool ran and said it failed (a result with ``isError``): the agent's business, not
    an outage; never retried, never counted against the server."""

    def __init__(self, message: str, *, content: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.content = content


# --- schemas, digests and the lock -------------------------------------------------------------


def schema_digest(input_schema: Any, output_schema: Any) -> str:
    """The same digest a local contract has: sha256 of ``[request, response]``."""
    body = json.dumps([input_schema, output_schema], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def output_digest(output_schema: Any) -> str:
    return hashlib.sha256(json.dumps(output_schema, sort_keys=True).encode()).hexdigest()


def side_effect_of(annotations: types.ToolAnnotations | None) -> SideEffect:
    """The side-effect class an MCP tool's annotations declare. The protocol's defaults are
    destructive and not idempotent, so a tool that says nothing is ``mutating``."""
    if annotations is None:
        return "mutating"
    if annotations.readOnlyHint:
        return "read_only"
    return "idempotent" if annotations.idempotentHint else "mutating"


@dataclass(frozen=True)
class LockedTool:
    """One MCP tool as recorded in the lock."""

    server: str
    name: str
    description: str
    side_effect: SideEffect
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    sha256: str

    @property
    def response_schema(self) -> dict[str, Any]:
        return self.output_schema if self.output_schema is not None else CONTENT_SCHEMA

    def entry(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "side_effect": self.side_effect,
            "sha256": self.sha256,
            "input": self.input_schema,
            "output": self.output_schema,
        }


def locked_tool(server: str, tool: types.Tool) -> LockedTool:
    return LockedTool(
        server=server,
        name=tool.name,
        description=tool.description or tool.title or tool.name,
        side_effect=side_effect_of(tool.annotations),
        input_schema=dict(tool.inputSchema),
        output_schema=dict(tool.outputSchema) if tool.outputSchema is not None else None,
        sha256=schema_digest(tool.inputSchema, tool.outputSchema),
    )


def locked_servers(
    servers: Iterable[str], lock_path: Path, *, before: str = ""
) -> dict[str, dict[str, LockedTool]]:
    """The lock at ``lock_path``, which must hold every one of ``servers``: those missing are
    refused in one line that says how to record them (``before``: what must wait for it, e.g.
    ``"a game day"``)."""
    lock = read_mcp_lock(lock_path)
    missing = [name for name in servers if name not in lock]
    if missing:
        when = f" before {before}" if before else ""
        raise ConfigError(
            f"mcp_servers {', '.join(missing)}: not in {lock_path}; record the tools they "
            f"serve with `agentkit tools lock -c agentkit.yaml`{when}"
        )
    return lock


def read_mcp_lock(path: Path) -> dict[str, dict[str, LockedTool]]:
    """server -> tool -> locked tool; empty when the file does not exist."""
    if not path.exists():
        return {}
    data = read_json(path, ConfigError)
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: not an MCP lock (no servers); run `agentkit tools lock -c`")
    return {
        server: {
            name: LockedTool(
                server,
                name,
                str(entry["description"]),
                entry["side_effect"],
                dict(entry["input"]),
                dict(entry["output"]) if entry["output"] is not None else None,
                str(entry["sha256"]),
            )
            for name, entry in tools.items()
        }
        for server, tools in servers.items()
    }


def lock_document(servers: Mapping[str, list[LockedTool]]) -> str:
    body = {
        "servers": {
            server: {t.name: t.entry() for t in sorted(tools, key=lambda t: t.name)}
            for server, tools in sorted(servers.items())
        }
    }
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def drift_problems(
    server: str, locked: Mapping[str, LockedTool], served: list[types.Tool]
) -> list[str]:
    """One line per locked tool the server no longer serves as locked."""
    by_name = {tool.name: tool for tool in served}
    problems = []
    for name, expected in sorted(locked.items()):
        tool = by_name.get(name)
        if tool is None:
            problems.append(
                f"mcp server {server}: tool {name} is locked in {MCP_LOCK_NAME} but no longer "
                "served; run `agentkit tools lock -c agentkit.yaml` if it was removed on purpose"
            )
            continue
        digest = schema_digest(tool.inputSchema, tool.outputSchema)
        if digest != expected.sha256:
            problems.append(
                f"mcp server {server}: tool {name} schema drift: locked sha256 "
                f"{expected.sha256[:16]}, served {digest[:16]}; refused (run `agentkit tools "
                "lock -c agentkit.yaml` if the change is intended)"
            )
    return problems


# --- the one place JSON-RPC and transport failures become agentkit errors ----------------------


def translate(exc: BaseException, server: str, tool: str, timeout_s: float) -> ToolError:
    """What ``exc``, raised while calling ``tool`` on ``server``, means to agentkit."""
    from mcp import types
    from mcp.shared.exceptions import McpError

    where = f"{tool} on mcp server {server}"
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, BaseExceptionGroup):  # a session's task group: the JSON-RPC error inside
        exc = next((leaf for leaf in _leaves(exc) if isinstance(leaf, McpError)), exc)
    if isinstance(exc, McpError):
        code, message = exc.error.code, exc.error.message
        if code == types.INVALID_PARAMS:
            return ToolInputInvalid(f"{where}: invalid params: {message}", schema_path="mcp")
        if code == types.METHOD_NOT_FOUND:
            return ToolVersionMismatch(
                f"{where}: method not found ({message}); the server no longer has the tool the "
                f"lock names: check it with `agentkit tools lock -c agentkit.yaml`"
            )
        if code == types.CONNECTION_CLOSED:
            return McpTransportFailed(f"{where}: the connection closed ({message})")
        return ToolFailed(f"{where}: JSON-RPC error {code}: {message}")
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError):
        return McpTimedOut(f"{where} timed out after {timeout_s:g} s")
    if _transport(exc):
        return McpTransportFailed(f"{where}: transport failed: {_describe(exc)}")
    return ToolFailed(f"{where} failed: {_describe(exc)}")


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _transport(exc: BaseException) -> bool:
    import anyio
    import httpx

    kinds = (
        OSError,
        EOFError,
        httpx.TransportError,
        httpx.HTTPStatusError,
        anyio.ClosedResourceError,
        anyio.BrokenResourceError,
        anyio.EndOfStream,
        _Dropped,
    )
    return any(isinstance(leaf, kinds) for leaf in _leaves(exc))


def _describe(exc: BaseException) -> str:
    leaf = next(_leaves(exc), exc)
    return f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__


class _Dropped(Exception):
    """The session ended while a call was waiting for its answer."""


# --- one server's session on its own event loop ------------------------------------------------


class _Connection:
    """One initialised session per server, owned by one task on a dedicated event-loop thread.

    The owner task opens the transport and the session, reports the served tool list, and keeps
    both open until told to stop; calls are submitted to the loop from any thread and waited
    for with a deadline. A call that sees the owner end (the process exited, the socket closed)
    fails as a dropped transport, and the next call opens a new session.
    """

    def __init__(self, name: str, config: McpServerConfig) -> None:
        self.name = name
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"agentkit-mcp-{name}", daemon=True
        )
        self._thread.start()
        self._lock = threading.Lock()
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._finished: list[concurrent.futures.Future[None]] = []
        self._closed = False

    def open(self, timeout_s: float) -> list[types.Tool] | None:
        """Open a session unless one is open; the served tools when a new one was opened."""
        with self._lock:
            if self._closed:
                raise _Dropped("the client is closed")
            if self._session is not None and self._owner is not None and not self._owner.done():
                return None
            self._discard()
            ready: concurrent.futures.Future[tuple[ClientSession, list[types.Tool]]]
            ready = concurrent.futures.Future()
            finished = asyncio.run_coroutine_threadsafe(self._own(ready), self._loop)
            self._finished.append(finished)
            try:
                session, tools = ready.result(timeout=max(0.0, timeout_s))
            except BaseException:
                self._loop.call_soon_threadsafe(finished.cancel)
                raise
            self._session = session
            return tools

    async def _own(
        self, ready: concurrent.futures.Future[tuple[ClientSession, list[types.Tool]]]
    ) -> None:
        from mcp import ClientSession

        self._owner = asyncio.current_task()
        stop = self._stop = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await self._transport(stack)
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                tools: list[types.Tool] = []
                cursor: str | None = None
                while True:
                    listed = await session.list_tools(cursor=cursor)
                    tools += listed.tools
                    cursor = listed.nextCursor
                    if not cursor:
                        break
                if not ready.done():
                    ready.set_result((session, tools))
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else _Dropped("cancelled"))
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise

    async def _transport(self, stack: contextlib.AsyncExitStack) -> tuple[Any, Any]:
        config = self.config
        if config.command is not None:
            from mcp import StdioServerParameters
            from mcp.client.stdio import get_default_environment, stdio_client

            params = StdioServerParameters(
                command=config.command,
                args=list(config.args),
                env={**get_default_environment(), **config.env},
            )
            read, write = await stack.enter_async_context(stdio_client(params))
            return read, write
        from mcp.client.streamable_http import streamable_http_client

        assert config.url is not None
        read, write, _ = await stack.enter_async_context(streamable_http_client(config.url))
        return read, write

    def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> types.CallToolResult:
        """Send ``tools/call`` on the open session; wait at most ``timeout_s``."""
        session, owner = self._session, self._owner
        if session is None or owner is None or owner.done():
            raise _Dropped("no open session")
        future = asyncio.run_coroutine_threadsafe(
            self._call(session, owner, name, arguments), self._loop
        )
        try:
            return future.result(timeout=max(0.0, timeout_s))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def _call(
        self,
        session: ClientSession,
        owner: asyncio.Task[None],
        name: str,
        arguments: dict[str, Any],
    ) -> types.CallToolResult:
        from mcp import types

        request = types.ClientRequest(
            types.CallToolRequest(
                params=types.CallToolRequestParams(name=name, arguments=arguments)
            )
        )
        sent = asyncio.ensure_future(session.send_request(request, types.CallToolResult))
        try:
            done, _ = await asyncio.wait({sent, owner}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            sent.cancel()
            raise
        if sent in done:
            return sent.result()
        sent.cancel()
        raise _Dropped("the session ended during the call")

    def reset(self) -> None:
        """Close the session (a dropped transport); the next call opens a new one."""
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        self._session = None
        stop, self._stop, self._owner = self._stop, None, None
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)

    def closing(self) -> None:
        """Refuse new sessions and end the open one: calls in flight fail at once."""
        with self._lock:
            self._closed = True
            self._discard()

    def close(self) -> None:
        """Close the session (a stdio server's process ends) and stop the loop thread."""
        self.closing()
        for finished in self._finished:
            with contextlib.suppress(BaseException):
                finished.result(timeout=_CLOSE_WAIT_S)
        # a session whose opening timed out is still unwinding (its stdio process ends there)
        with contextlib.suppress(BaseException):
            drained = asyncio.run_coroutine_threadsafe(_unwound(), self._loop)
            drained.result(timeout=_CLOSE_WAIT_S * 2)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_CLOSE_WAIT_S)
        if not self._thread.is_alive():
            self._loop.close()


async def _unwound() -> None:
    """Wait (bounded) for the loop's other tasks to end."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=_CLOSE_WAIT_S)


class _Admission:
    """A server's concurrency limit: ``max_concurrent`` calls at once, ``max_queue`` waiting."""

    def __init__(self, name: str, policy: BulkheadPolicy) -> None:
        self.name = name
        self.policy = policy
        self._slots = threading.Semaphore(policy.max_concurrent)
        self._lock = threading.Lock()
        self._admitted = 0

    @contextlib.contextmanager
    def slot(self, timeout_s: float) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self.policy.max_concurrent + self.policy.max_queue:
                raise ToolBusy(
                    f"mcp server {self.name} is at its concurrency limit "
                    f"({self.policy.max_concurrent} running, {self.policy.max_queue} queued)"
                )
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=max(0.0, timeout_s)):
                raise TimeoutError("queued until the deadline")
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1


@dataclass
class _Server:
    name: str
    config: McpServerConfig
    connection: _Connection
    breaker: RouteBreaker
    admission: _Admission


class McpClient:
    """The tools of every configured MCP server, callable by name (see the module docstring)."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        lock: Mapping[str, Mapping[str, LockedTool]],
        *,
        clock: Clock = SYSTEM_CLOCK,
        check_lock: bool = True,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """Breaker state and transitions are metrics of ``meter_provider``, else the CLI
        command's, else the global one."""
        optional_module("mcp", "mcp_servers", extra="mcp")  # one line when the extra is missing
        self._clock = clock
        self._lock = {name: dict(lock.get(name, {})) for name in servers}
        self._check_lock = check_lock
        store = MemoryBreakerStore(clock)
        meter = providers.get_meter("agentkit.mcp", meter_provider)
        telemetry = BreakerTelemetry(meter, self, SERVER_BREAKERS)
        self._servers = {
            name: _Server(
                name,
                config,
                _Connection(name, config),
                RouteBreaker(
                    f"mcp:{name}",
                    BreakerPolicy(
                        fail_max=config.breaker.fail_max, reset_timeout_s=config.breaker.reset_s
                    ),
                    clock,
                    store,
                    [telemetry],
                ),
                _Admission(name, BulkheadPolicy(config.max_concurrent, config.max_queue)),
            )
            for name, config in servers.items()
        }
        # A tool is served by the first server (in file order) that locked it; the others
        # that lock it are its fallbacks.
        self._tools: dict[str, LockedTool] = {}
        for name in servers:
            for tool in self._lock[name].values():
                self._tools.setdefault(tool.name, tool)
        self._validators: dict[tuple[str, str], tuple[Draft202012Validator, Any]] = {}
        hedged = [c for c in servers.values() if c.hedge_after_s and c.fallback in servers]
        self._hedger = (
            Hedger(sum(_admits(c) + _admits(servers[c.fallback or ""]) for c in hedged))
            if hedged
            else None
        )

    @classmethod
    def from_config(
        cls, servers: Mapping[str, McpServerConfig], lock_path: Path, **options: Any
    ) -> McpClient:
        """The servers of agentkit.yaml with the lock beside it; servers missing from the lock
        are refused in one line that says how to record them."""
        return cls(servers, locked_servers(servers, lock_path), **options)

    # --- lookup --------------------------------------------------------------------------------

    def tools(self) -> list[LockedTool]:
        return sorted(self._tools.values(), key=lambda t: t.name)

    def tool(self, name: str) -> LockedTool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolNotFound(
                f"no MCP tool {name!r}; known: {', '.join(sorted(self._tools)) or 'none'}"
            ) from None

    def breaker_state(self, server: str) -> str:
        return self._servers[server].breaker.state

    def breaker_states(self) -> dict[str, str]:
        """Every server's breaker state, by its breaker's name (``mcp:<server>``)."""
        return {s.breaker.route: s.breaker.state for s in self._servers.values()}

    def contract(self, name: str) -> ToolContract:
        """The tool as a contract the registry enforces (version 0.0.0: MCP tools have none)."""
        tool = self.tool(name)
        config = self._servers[tool.server].config
        return ToolContract(
            name=tool.name,
            version="0.0.0",
            description=tool.description,
            request_schema=tool.input_schema,
            response_schema=tool.response_schema,
            side_effect=tool.side_effect,
            timeout_s=config.timeout_s,
            bulkhead=BulkheadPolicy(config.max_concurrent, config.max_queue),
            path=Path(f"mcp:{tool.server}"),
        )

    def register(self, registry: ToolRegistry) -> None:
        """Every locked tool into ``registry``, which validates and records it like a local one
        and passes it the caller's deadline; the tool's breaker is its server's."""
        for tool in self.tools():
            registry.add_remote(
                self.contract(tool.name),
                self._caller(tool.name),
                breaker_state=functools.partial(self.breaker_state, tool.server),
            )

    def _caller(self, name: str) -> Callable[[dict[str, Any], float | None], dict[str, Any]]:
        def call(payload: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
            # the registry validates; timeout_s: the caller's time left (a run's budget)
            return self.call(name, payload, timeout_s=timeout_s, validate=False)

        return call

    def served(self, server: str) -> list[types.Tool]:
        """The tools ``server`` serves now (for the lock); opens its session."""
        state = self._servers[server]
        state.connection.reset()
        tools = state.connection.open(state.config.connect_timeout_s)
        return list(tools or [])

    # --- calling -------------------------------------------------------------------------------

    def call(
        self,
        name: str,
        payload: dict[str, Any],
        *,
        timeout_s: float | None = None,
        validate: bool = True,
        span: SpanLike | None = None,
    ) -> dict[str, Any]:
        """Call ``name`` on its server (or its fallback) and return its structured result.

        ``timeout_s`` shortens the server's deadline (the run's remaining budget); the server,
        attempts and outcome go on ``span`` (default: the current span)."""
        tool = self.tool(name)
        if validate:
            self._validate(tool, payload, request=True)
        span = trace.get_current_span() if span is None else span
        try:
            output = self._first_answer(tool, payload, timeout_s, span)
        except (McpTransportFailed, McpTimedOut, CircuitOpen, ToolBusy) as error:
            output = self._fallback(tool, payload, timeout_s, span, error)
        except ToolFailed as error:
            if type(error) is not ToolFailed:  # McpToolError: the tool's own answer
                raise
            output = self._fallback(tool, payload, timeout_s, span, error)
        if validate:
            try:
                self._validate(tool, output, request=False)
            except ToolOutputInvalid:
                span.set_attribute(OUTCOME, "invalid_output")
                raise
        return output

    def _first_answer(
        self, tool: LockedTool, payload: dict[str, Any], timeout_s: float | None, span: SpanLike
    ) -> dict[str, Any]:
        """The call on its server, or hedged on the fallback when it is slow (never a mutating
        call: a hedge would execute it twice)."""
        config = self._servers[tool.server].config
        hedged = self._hedger is not None and config.hedge_after_s is not None
        alternative = (
            self._alternative(tool, config.fallback)
            if hedged and tool.side_effect != "mutating"
            else None
        )
        budget = _budget(timeout_s, config)
        if (
            self._hedger is None
            or config.hedge_after_s is None
            or alternative is None
            or config.hedge_after_s >= budget  # the hedge would start after the deadline
        ):
            return self._on_server(tool.server, tool, payload, timeout_s, span)
        assert config.fallback is not None  # there is an alternative
        # One deadline for the race: the hedge leg starts hedge_after_s late and gets what is
        # left, so the call ends at its deadline whichever leg is still running.
        deadline = self._clock.now() + budget

        def leg(server: str, recorder: Recorder) -> dict[str, Any]:
            chosen = tool if server == tool.server else alternative
            left = deadline - self._clock.now()
            return self._on_server(server, chosen, payload, left, recorder)

        return self._hedger.race(
            config.hedge_after_s, tool.server, config.fallback, leg, span, final=_final
        )

    def _alternative(self, tool: LockedTool, fallback: str | None) -> LockedTool | None:
        """``tool`` as ``fallback`` serves it, when it answers in the same output schema."""
        alternative = self._lock[fallback].get(tool.name) if fallback else None
        if alternative is None or output_digest(alternative.output_schema) != output_digest(
            tool.output_schema
        ):
            return None
        return alternative

    def _fallback(
        self,
        tool: LockedTool,
        payload: dict[str, Any],
        timeout_s: float | None,
        span: SpanLike,
        error: ToolError | CircuitOpen,
    ) -> dict[str, Any]:
        fallback = self._servers[tool.server].config.fallback
        public = error if isinstance(error, ToolFailed) else ToolFailed(str(error))
        if fallback is None:
            raise public from error
        may_have_run = not isinstance(error, CircuitOpen | ToolBusy | McpUnreachable)
        if tool.side_effect == "mutating" and may_have_run:
            raise ToolFailed(
                f"{error}; {tool.name} is mutating and may have run, so it is not sent to "
                f"mcp server {fallback}"
            ) from error
        alternative = self._alternative(tool, fallback)
        if alternative is None:
            raise ToolFailed(
                f"{error}; fallback mcp server {fallback} does not serve {tool.name} with the "
                "same output schema"
            ) from error
        span.add_event(
            "agentkit.tool.fallback",
            {"from": tool.server, "to": fallback, "reason": type(error).__name__},
        )
        return self._on_server(fallback, alternative, payload, timeout_s, span)

    def _on_server(
        self,
        server: str,
        tool: LockedTool,
        payload: dict[str, Any],
        timeout_s: float | None,
        span: SpanLike,
    ) -> dict[str, Any]:
        state = self._servers[server]
        budget = _budget(timeout_s, state.config)
        deadline = self._clock.now() + budget
        safe = tool.side_effect != "mutating" or bool(payload.get(IDEMPOTENCY_KEY))
        span.set_attribute(SERVER, server)
        attempt = 0
        sent = False  # whether an attempt reached the server: then the call may have run
        try:
            with state.admission.slot(budget):
                while True:
                    attempt += 1
                    span.set_attribute(ATTEMPTS, attempt)
                    try:
                        output = self._attempt(state, tool, payload, deadline, budget)
                    except McpTransportFailed as failure:
                        self._outcome(span, server, attempt, "transport")
                        state.connection.reset()
                        unsent = isinstance(failure, McpUnreachable)
                        sent = sent or not unsent
                        left = deadline - self._clock.now()
                        if not (safe or unsent) or attempt > state.config.retries or left <= 0:
                            if sent and unsent:  # an earlier attempt may have run it
                                raise McpTransportFailed(str(failure)) from failure
                            raise
                        # a short pause before a new session (a restarting server), in budget
                        self._clock.sleep(min(_RETRY_PAUSE_S * attempt, left / 2))
                        continue
                    except ToolError as error:
                        self._outcome(span, server, attempt, _outcome_name(error))
                        raise
                    except CircuitOpen:
                        self._outcome(span, server, attempt, "circuit_open")
                        raise
                    self._outcome(span, server, attempt, "ok")
                    return output
        except TimeoutError as exc:  # waited in the queue until the deadline
            self._outcome(span, server, attempt, "timeout")
            raise McpTimedOut(
                f"{tool.name} on mcp server {server} timed out after "
                f"{budget:g} s waiting for a slot"
            ) from exc

    def _attempt(
        self,
        state: _Server,
        tool: LockedTool,
        payload: dict[str, Any],
        deadline: float,
        budget: float,
    ) -> dict[str, Any]:
        state.breaker.admit()
        started = self._clock.now()
        sending = False
        try:
            listed = state.connection.open(
                max(0.0, min(state.config.connect_timeout_s, deadline - started))
            )
            if listed is not None and self._check_lock:
                problems = drift_problems(state.name, self._lock[state.name], listed)
                if problems:
                    state.connection.reset()
                    raise ToolVersionMismatch(problems[0])
            sending = True
            result = state.connection.call(tool.name, payload, deadline - self._clock.now())
        except BaseException as exc:
            error = translate(exc, state.name, tool.name, budget)
            if type(error) is McpTransportFailed and not sending:
                error = McpUnreachable(f"{error} (not sent)")
            if isinstance(error, McpTransportFailed | McpTimedOut) or type(error) is ToolFailed:
                state.breaker.record_failure(error)
            else:  # the request's or the contract's fault: says nothing about the server
                state.breaker.release()
            if error is exc:
                raise
            raise error from exc
        state.breaker.record_success(self._clock.now() - started)
        return self._output(state.name, tool, result)

    def _output(
        self, server: str, tool: LockedTool, result: types.CallToolResult
    ) -> dict[str, Any]:
        content = [block.model_dump(mode="json", exclude_none=True) for block in result.content]
        if result.isError:
            text = " ".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
            raise McpToolError(
                f"{tool.name} on mcp server {server} answered an error: {text or 'no text'}",
                content=content,
            )
        if tool.output_schema is None:
            return {"content": content}
        if result.structuredContent is None:
            raise ToolOutputInvalid(
                f"{tool.name} on mcp server {server} returned no structuredContent although "
                "it declares an outputSchema"
            )
        return dict(result.structuredContent)

    def _validate(self, tool: LockedTool, payload: Any, *, request: bool) -> None:
        from agentkit.tools.registry import schema_problem

        key = (tool.server, tool.name)
        if key not in self._validators:
            checker = FormatChecker()
            self._validators[key] = (
                Draft202012Validator(tool.input_schema, format_checker=checker),
                Draft202012Validator(tool.response_schema, format_checker=checker),
            )
        validator = self._validators[key][0 if request else 1]
        problem = schema_problem(validator, payload)
        if problem is None:
            return
        message, schema_path = problem
        if request:
            raise ToolInputInvalid(
                f"{tool.name} input invalid: {message} (schema: {schema_path})",
                schema_path=schema_path,
            )
        raise ToolOutputInvalid(f"{tool.name} returned an invalid response: {message}")

    def _outcome(self, span: SpanLike, server: str, attempt: int, outcome: str) -> None:
        span.set_attribute(OUTCOME, outcome)
        span.add_event(
            "agentkit.mcp.attempt", {"server": server, "attempt": attempt, "outcome": outcome}
        )

    def close(self) -> None:
        """Close every session (stdio servers' processes end)."""
        for state in self._servers.values():
            state.connection.closing()
        if self._hedger is not None:  # abandoned legs end as their sessions did
            self._hedger.close()
        for state in self._servers.values():
            state.connection.close()

    def __enter__(self) -> McpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _admits(config: McpServerConfig) -> int:
    """Calls a server admits at once (running and queued): the hedge legs it can take."""
    return config.max_concurrent + config.max_queue


def _budget(timeout_s: float | None, config: McpServerConfig) -> float:
    """The seconds a call may take on a server: its ``timeout_s``, shortened by the caller's."""
    return config.timeout_s if timeout_s is None else max(0.0, min(timeout_s, config.timeout_s))


def _final(error: BaseException) -> bool:
    """An error the fallback server cannot fix: the request's or the tool's own answer."""
    if isinstance(error, McpTransportFailed | McpTimedOut | CircuitOpen | ToolBusy):
        return False
    return type(error) is not ToolFailed


def _outcome_name(error: ToolError) -> str:
    if isinstance(error, McpToolError):
        return "tool_error"
    if isinstance(error, McpTimedOut):
        return "timeout"
    if isinstance(error, ToolInputInvalid):
        return "invalid_params"
    if isinstance(error, ToolVersionMismatch):
        return "contract"
    if isinstance(error, ToolOutputInvalid):
        return "invalid_output"
    return "error"


def lock_servers(
    servers: Mapping[str, McpServerConfig], **options: Any
) -> dict[str, list[LockedTool]]:
    """What each server serves now, as lock entries (``agentkit tools lock -c``)."""
    client = McpClient(servers, {}, check_lock=False, **options)
    try:
        found = {}
        for name, config in servers.items():
            try:
                tools = client.served(name)
            except BaseException as exc:
                error = translate(exc, name, "tools/list", config.connect_timeout_s)
                raise ConfigError(f"mcp_servers.{name}: cannot list its tools: {error}") from None
            found[name] = [locked_tool(name, tool) for tool in tools]
        return found
    finally:
        client.close()
