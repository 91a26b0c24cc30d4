"""The tool registry: contracts enforced at the boundary, around every tool call.

``call`` validates the input (JSON Schema, then the tool's semantic checks) before the tool
runs, runs it in the tool's own bulkhead (its workers, concurrency limit and queue: a hung tool
cannot take capacity from another) with a timeout behind the tool's own circuit breaker, falls
back to a contract-compatible tool when it fails, validates the output, and records an
``execute_tool {tool}`` span. A caller's deadline (``timeout_s``: a run's remaining budget)
caps every tool's own ``timeout_s``, a remote tool's included; a call that finds it passed is
never started. Tool arguments and results go on the span only when
``capture_content`` is given: a function that redacts them (content capture is opt-in, and
never unredacted).

A ``mutating`` tool runs at most once per idempotency key: its result is stored under the key
and the call id (:mod:`agentkit.tools.results`), a repeat returns the stored result, a repeat
while the first call is still running waits for that call, and a failure after the call may
have started is never sent to a fallback tool.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from agentkit.errors import (
    CircuitOpen,
    ConfigError,
    ToolBusy,
    ToolError,
    ToolFailed,
    ToolInputInvalid,
    ToolNotFound,
    ToolOutputInvalid,
    UserError,
)
from agentkit.paths import data_dir
from agentkit.resilience.breaker import BreakerPolicy, MemoryBreakerStore, RouteBreaker
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.listeners import TOOLS, BreakerTelemetry
from agentkit.tools.bulkhead import Bulkhead, BulkheadPolicy, BulkheadStats, Call
from agentkit.tools.contracts import (
    IDEMPOTENCY_KEY,
    ToolContract,
    load_contracts,
    read_lock,
    verify,
)
from agentkit.tools.results import MemoryResultStore, ResultStore

Payload = dict[str, Any]
Handler = Callable[[Payload], Payload]
# A tool served elsewhere (an MCP server), given the caller's time left (None: no deadline): it
# brings its own breaker, concurrency limit and fallback (agentkit.tools.mcp_client)
Remote = Callable[[Payload, float | None], Payload]
SemanticCheck = Callable[[Payload], list[str]]  # problems; empty when valid

TOOL_VERSION = "agentkit.tool.version"
TOOL_SIDE_EFFECT = "agentkit.tool.side_effect"
TOOL_REPLAYED = "agentkit.tool.replayed"


@dataclass(frozen=True)
class Implementation:
    handler: Handler
    check_request: SemanticCheck | None = None
    check_response: SemanticCheck | None = None


@dataclass(frozen=True)
class ToolResult:
    name: str
    version: str
    input: Payload
    output: Payload
    call_id: str
    fallback_from: str | None = None  # set when a fallback tool answered
    replayed: bool = False  # a stored result of a mutating call: the tool did not run again


class _Withdrawn(ToolFailed):
    """Timed out while still queued: the handler never ran."""


class _NoTimeLeft(_Withdrawn):
    """The caller's deadline had passed before the call could start: nothing ran, and a
    fallback would have no time either."""


@dataclass(frozen=True)
class ToolStatus:
    """One tool's health as the registry sees it: its breaker and its bulkhead."""

    name: str
    version: str
    breaker: str  # closed | open | half-open (a remote tool: its server's; else unknown)
    bulkhead: BulkheadStats
    implemented: bool


@dataclass
class _Tool:
    contract: ToolContract
    implementation: Implementation | None
    bulkhead: Bulkhead
    breaker: RouteBreaker | None  # None for a remote tool: its server has the breaker
    remote: Remote | None = None
    remote_breaker: Callable[[], str] | None = None  # the state of the remote server's breaker
    request: Draft202012Validator = field(init=False)
    response: Draft202012Validator = field(init=False)

    def __post_init__(self) -> None:
        checker = FormatChecker()
        self.request = Draft202012Validator(self.contract.request_schema, format_checker=checker)
        self.response = Draft202012Validator(self.contract.response_schema, format_checker=checker)


def schema_problem(validator: Draft202012Validator, payload: Any) -> tuple[str, str] | None:
    """The first (best) validation error as (message with its JSON path, schema path)."""
    errors = sorted(validator.iter_errors(payload), key=lambda e: (list(e.path), e.message))
    if not errors:
        return None
    error = errors[0]
    schema_path = "/".join(str(p) for p in error.schema_path)
    return f"{error.json_path}: {error.message}", schema_path


class ToolRegistry:
    def __init__(
        self,
        contracts: Mapping[str, ToolContract],
        implementations: Mapping[str, Implementation],
        *,
        clock: Clock = SYSTEM_CLOCK,
        tracer_provider: TracerProvider | None = None,
        breaker: BreakerPolicy | None = None,
        bulkheads: Mapping[str, BulkheadPolicy] | None = None,
        results: ResultStore | None = None,
        capture_content: Callable[[Any], Any] | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """``bulkheads`` overrides, by tool name, the limits a contract's manifest declares;
        ``results`` keeps mutating calls' results (default: in memory). Breaker state and
        transitions are metrics (``agentkit.tool.breaker.*``) of ``meter_provider``, else the
        CLI command's, else the global one."""
        self._policy = breaker or BreakerPolicy(fail_max=3, reset_timeout_s=30)
        self._store = MemoryBreakerStore(clock)
        self._clock = clock
        self._tools: dict[str, _Tool] = {}
        meter = providers.get_meter("agentkit.tools", meter_provider)
        self._breaker_telemetry = BreakerTelemetry(meter, self, TOOLS)
        limits = dict(bulkheads or {})
        self._tools = {
            key: _Tool(
                c,
                implementations.get(c.name),
                Bulkhead(key, limits.get(c.name, c.bulkhead)),
                self._breaker(key),
            )
            for key, c in contracts.items()
        }
        self._results: ResultStore = results if results is not None else MemoryResultStore()
        self._inflight: dict[str, Call] = {}
        self._inflight_lock = threading.Lock()
        self._tracer = providers.get_tracer("agentkit.tools", tracer_provider)  # else global
        self.capture_content = capture_content

    @classmethod
    def from_directory(
        cls,
        root: Path | None = None,
        implementations: Mapping[str, Implementation] | None = None,
        **options: Any,
    ) -> ToolRegistry:
        """Contracts from ``root`` (default: the packaged ``tools/``), checked against the lock,
        with the implementations an application registers (the runtime names none itself)."""
        root = root or data_dir("tools")
        contracts = load_contracts(root)
        verify(contracts, read_lock(root))
        return cls(contracts, dict(implementations or {}), **options)

    def add_remote(
        self,
        contract: ToolContract,
        call: Remote,
        *,
        breaker_state: Callable[[], str] | None = None,
    ) -> None:
        """A tool served elsewhere (an MCP server): the registry validates its input and
        output, keeps a mutating call's result and records its span; ``call`` applies the
        caller's deadline and its own breaker, concurrency limit, retries and fallback. The
        registry keeps no breaker for it (``breaker_state``: the server's, for :meth:`status`)."""
        if any(t.contract.name == contract.name for t in self._tools.values()):
            raise ConfigError(
                f"tool {contract.name} is defined twice ({contract.path} and a local contract);"
                " rename one"
            )
        self._tools[contract.key] = _Tool(
            contract,
            None,
            Bulkhead(contract.key, contract.bulkhead),
            None,
            remote=call,
            remote_breaker=breaker_state,
        )

    def _breaker(self, key: str) -> RouteBreaker:
        listeners = [self._breaker_telemetry]
        return RouteBreaker(f"tool:{key}", self._policy, self._clock, self._store, listeners)

    def breaker_states(self) -> dict[str, str]:
        """Every local tool's breaker state, by its breaker's name (``tool:<key>``); a remote
        tool's server reports its own (``mcp:<server>``)."""
        tools = list(self._tools.values())
        return {t.breaker.route: t.breaker.state for t in tools if t.breaker is not None}

    # --- lookup --------------------------------------------------------------------------------

    def contracts(self) -> list[ToolContract]:
        return sorted((t.contract for t in self._tools.values()), key=lambda c: c.key)

    def contract(self, name: str, major: int | None = None) -> ToolContract:
        return self._tool(name, major).contract

    def tool_specs(self, *names: str) -> list[dict[str, Any]]:
        return [self.contract(name).tool_spec() for name in names]

    def status(self) -> list[ToolStatus]:
        """Every tool's breaker state and bulkhead occupancy, by key."""
        return [
            ToolStatus(
                t.contract.name,
                t.contract.version,
                _breaker_state(t),
                t.bulkhead.stats(),
                t.implementation is not None or t.remote is not None,
            )
            for t in sorted(self._tools.values(), key=lambda t: t.contract.key)
        ]

    def _tool(self, name: str, major: int | None) -> _Tool:
        candidates = [t for t in self._tools.values() if t.contract.name == name]
        if major is not None:
            candidates = [t for t in candidates if t.contract.major == major]
        if not candidates:
            known = ", ".join(sorted({t.contract.name for t in self._tools.values()}))
            raise ToolNotFound(f"no tool {name!r}{f' v{major}' if major else ''}; known: {known}")
        return max(candidates, key=lambda t: t.contract.major)

    # --- the boundary --------------------------------------------------------------------------

    def validate_input(self, name: str, payload: Any, major: int | None = None) -> None:
        """Raise :class:`ToolInputInvalid` naming the failing path, without running the tool."""
        tool = self._tool(name, major)
        problem = schema_problem(tool.request, payload)
        if problem is not None:
            message, schema_path = problem
            raise ToolInputInvalid(
                f"{name} input invalid: {message} (schema: {schema_path})", schema_path=schema_path
            )
        check = tool.implementation.check_request if tool.implementation else None
        problems = check(payload) if check else []
        if problems:
            raise ToolInputInvalid(
                f"{name} input invalid: {'; '.join(problems)}", schema_path="semantic"
            )

    def call(
        self,
        name: str,
        payload: Any,
        *,
        major: int | None = None,
        call_id: str | None = None,
        timeout_s: float | None = None,
    ) -> ToolResult:
        """Run ``name`` (see the module docstring). ``timeout_s`` is the caller's deadline (a
        run's remaining budget): it caps the tool's own ``timeout_s`` and its fallback's."""
        tool = self._tool(name, major)
        call_id = call_id or f"call_{uuid.uuid4().hex[:16]}"
        deadline = None if timeout_s is None else self._clock.now() + timeout_s
        with self._tracer.start_as_current_span(
            f"execute_tool {name}", kind=SpanKind.INTERNAL
        ) as span:
            self._describe(span, tool.contract, call_id, payload)
            try:
                self.validate_input(name, payload, major)
                key = _idempotency_key(tool.contract, payload)
                stored = self._stored(tool.contract, call_id, key)
                if stored is not None:
                    span.set_attribute(TOOL_REPLAYED, True)
                    return ToolResult(**stored, input=payload, call_id=call_id, replayed=True)
                result = self._run(tool, payload, call_id, span, key, deadline)
                if key is not None:
                    self._results.put(f"{tool.contract.key}:call:{call_id}", _stored(result))
            except ToolError as error:
                # a withdrawn call is a timeout like any other to the caller
                public = ToolFailed(str(error)) if isinstance(error, _Withdrawn) else error
                span.set_attribute(sc.ERROR_TYPE, type(public).__name__)
                span.set_status(Status(StatusCode.ERROR, str(public)))
                if public is not error:
                    raise public from error
                raise
            if self.capture_content is not None:
                span.set_attribute("gen_ai.tool.call.result", self._content(result.output))
            return result

    def _stored(self, contract: ToolContract, call_id: str, key: str | None) -> Payload | None:
        if key is None:
            return None
        return self._results.get(f"{contract.key}:call:{call_id}") or self._results.get(key)

    def _run(
        self,
        tool: _Tool,
        payload: Payload,
        call_id: str,
        span: Span,
        key: str | None,
        deadline: float | None,
    ) -> ToolResult:
        contract = tool.contract
        try:
            output = self._guarded(tool, payload, key, deadline)
        except _NoTimeLeft:
            raise
        except (ToolFailed, CircuitOpen) as error:
            may_have_run = not isinstance(error, CircuitOpen | ToolBusy | _Withdrawn)
            if contract.fallback is not None and contract.mutating and may_have_run:
                raise ToolFailed(
                    f"{error}; {contract.name} is mutating and may have run, so the call is "
                    f"not sent to {contract.fallback}: repeat it with the same "
                    f"{IDEMPOTENCY_KEY} for its result"
                ) from error
            if contract.fallback is None:
                if isinstance(error, ToolFailed):
                    raise
                raise ToolFailed(str(error)) from error
            span.add_event(
                "agentkit.tool.fallback",
                {"from": contract.name, "to": contract.fallback, "reason": type(error).__name__},
            )
            fallback = self._tool(contract.fallback, None)
            return ToolResult(
                fallback.contract.name,
                fallback.contract.version,
                payload,
                self._guarded(fallback, payload, key, deadline),
                call_id,
                fallback_from=contract.name,
            )
        return ToolResult(contract.name, contract.version, payload, output, call_id)

    def _guarded(
        self, tool: _Tool, payload: Payload, key: str | None, deadline: float | None
    ) -> Payload:
        """Run the handler in the tool's bulkhead behind the tool's breaker, for the tool's
        ``timeout_s`` or until the caller's ``deadline``; every outcome is accounted to this
        tool alone."""
        contract = tool.contract
        wait = contract.timeout_s
        if deadline is not None:
            wait = min(wait, deadline - self._clock.now())
            if wait <= 0:
                raise _NoTimeLeft(f"{contract.name} was not started: the caller's deadline passed")
        if tool.remote is not None:
            answer = tool.remote(payload, None if deadline is None else wait)
            self._check_output(tool, answer)
            if key is not None:
                self._results.put(key, _stored_output(contract, answer))
            return answer
        if tool.implementation is None or tool.breaker is None:
            raise ToolFailed(f"{contract.key} has a contract but no implementation")
        return self._local(tool, tool.breaker, payload, key, wait)

    def _local(
        self, tool: _Tool, breaker: RouteBreaker, payload: Payload, key: str | None, wait: float
    ) -> Payload:
        """A local handler's call, waited for ``wait`` seconds (its ``timeout_s``, or less when
        the caller's deadline is nearer)."""
        contract = tool.contract
        breaker.admit()
        try:
            call = self._submit(tool, payload, key)
        except ToolBusy:
            breaker.release()  # refused before it ran: says nothing about its health
            raise
        started = self._clock.now()
        try:
            output: Payload = call.future.result(timeout=wait)
        except (FutureTimeout, CancelledError) as exc:
            withdrawn = tool.bulkhead.give_up(call)
            message = f"{contract.name} timed out after {wait:g} s"
            if wait < contract.timeout_s:
                message += " (the caller's deadline)"
            timed_out = _Withdrawn(message) if withdrawn else ToolFailed(message)
            breaker.record_failure(timed_out)
            raise timed_out from exc
        except UserError as exc:  # the request's fault, found by the tool: no trip, no fallback
            breaker.release()
            if isinstance(exc, ToolError):
                raise
            raise ToolInputInvalid(
                f"{contract.name} input invalid: {exc}", schema_path="semantic"
            ) from exc
        except Exception as exc:
            failure = _as_tool_error(exc, contract)
            breaker.record_failure(failure)
            raise failure from exc
        breaker.record_success(self._clock.now() - started)
        self._check_output(tool, output)
        return output

    def _submit(self, tool: _Tool, payload: Payload, key: str | None) -> Call:
        """A new call in the tool's bulkhead; for a mutating call whose key is already running,
        that call (one execution, however many callers wait for it)."""
        assert tool.implementation is not None
        if key is None:
            return tool.bulkhead.submit(tool.implementation.handler, payload)
        with self._inflight_lock:
            running = self._inflight.get(key)
            if running is not None:
                return running
            stored = self._results.get(key)  # settled since this caller looked
            if stored is not None:
                return Call.finished(stored["output"])
            call = tool.bulkhead.submit(tool.implementation.handler, payload)
            self._inflight[key] = call
        call.future.add_done_callback(lambda _: self._settled(tool, key, call))
        return call

    def _settled(self, tool: _Tool, key: str, call: Call) -> None:
        """Store a mutating call's valid result under its key, even if its caller gave up.

        The result is stored before the call leaves the in-flight table, under the same lock, so
        a caller with the same key finds one or the other, never neither."""
        future = call.future
        output: Payload | None = None
        if not future.cancelled() and future.exception() is None:
            output = future.result()
        with self._inflight_lock:
            if output is not None and schema_problem(tool.response, output) is None:
                self._results.put(key, _stored_output(tool.contract, output))
            if self._inflight.get(key) is call:
                del self._inflight[key]

    def _check_output(self, tool: _Tool, output: Any) -> None:
        problem = schema_problem(tool.response, output)
        problems = [problem[0]] if problem else []
        check = tool.implementation.check_response if tool.implementation else None
        if not problems and check is not None:
            problems = check(output)
        if problems:
            raise ToolOutputInvalid(
                f"{tool.contract.name} returned an invalid response: {problems[0]}"
            )

    def _describe(self, span: Span, contract: ToolContract, call_id: str, payload: Any) -> None:
        span.set_attribute(sc.OPERATION_NAME, "execute_tool")
        span.set_attribute(sc.TOOL_NAME, contract.name)
        span.set_attribute(sc.TOOL_CALL_ID, call_id)
        span.set_attribute(TOOL_VERSION, contract.version)
        span.set_attribute(TOOL_SIDE_EFFECT, contract.side_effect)
        if self.capture_content is not None:
            span.set_attribute("gen_ai.tool.call.arguments", self._content(payload))

    def _content(self, value: Any) -> str:
        assert self.capture_content is not None
        return json.dumps(self.capture_content(value), sort_keys=True, default=str)

    def close(self) -> None:
        """Stop the idle workers (a hung handler's thread is a daemon: it never blocks exit)."""
        for tool in self._tools.values():
            tool.bulkhead.close()


def _breaker_state(tool: _Tool) -> str:
    if tool.breaker is not None:
        return tool.breaker.state
    return tool.remote_breaker() if tool.remote_breaker is not None else "unknown"


def _idempotency_key(contract: ToolContract, payload: Payload) -> str | None:
    """Where a mutating call's result is kept (None for the other classes)."""
    if not contract.mutating:
        return None
    key = payload.get(IDEMPOTENCY_KEY)  # an MCP tool may not take one: then nothing is kept
    return None if key is None else f"{contract.key}:key:{key}"


def _stored_output(contract: ToolContract, output: Payload) -> Payload:
    return {
        "name": contract.name,
        "version": contract.version,
        "output": output,
        "fallback_from": None,
    }


def _stored(result: ToolResult) -> Payload:
    return {
        "name": result.name,
        "version": result.version,
        "output": result.output,
        "fallback_from": result.fallback_from,
    }


def _as_tool_error(exc: Exception, contract: ToolContract) -> ToolError:
    if isinstance(exc, ToolError):
        return exc
    return ToolFailed(f"{contract.name} failed: {type(exc).__name__}: {exc}")
