"""``agentkit serve``: the DR advisor over HTTP, on the Amazon Bedrock AgentCore Runtime contract.

- ``POST /invocations``: JSON in, JSON out (the ``agentkit ask --json`` shape); Server-Sent Events
  when the client sends ``Accept: text/event-stream`` or ``"stream": true``. The session is the
  ``X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`` header or ``session_id`` in the body (a new one
  when neither is given, returned in that header). Streamed text is the guarded text of
  :class:`agentkit.guardrails.stream.GuardedText` only, never raw model output. High-stakes
  advice is neither streamed nor in the answer while it waits for ``{"approval": ...}``: the
  answer says what needs approving and why (``approval.status: pending``, ``expires_at``).
  Past ``--approval-timeout`` the next request for the session declines it (``by: timeout``)
  and the safe option stands (``agentkit.serve.http_service.Advisor``).
- ``GET /ping``: ``{"status": "Healthy" | "HealthyBusy", "time_of_last_update": <unix s>}``,
  busy while any turn is in flight or queued (the contract's meaning: AgentCore keeps a busy
  session's instance alive). Never traced: the platform polls it every few seconds.
- ``GET /health``: deep health (``agentkit.bedrock.health``): 200 while at least one route of the
  chain answers from here, 503 when none does.
- ``GET /openapi.json``: the OpenAPI description.

While the operator's kill switch is on (``agentkit ops set kill_switch=on``, docs/ops.md), every
``POST /invocations`` is refused with 503 and error code ``kill_switch`` before any work starts.

A turn runs on the event loop (``AgentRuntime.arun``: the gateway's ``aconverse`` and the
session store's async saver), at most ``capacity`` at once (an :class:`anyio.Semaphore`), so
one worker serves many sessions with no thread per turn. A turn belongs to the application's
task group, not to the request: once started it is shielded from cancellation, so past its
deadline the request gets 504 while the turn runs to its end and its session records it; at
shutdown every turn in flight finishes before the process exits. Requests of one session are
taken in turn (every session in turn on SQLite, whose store holds one lock for the whole file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkit.errors import AgentkitError, InputError
from agentkit.serve import public_message
from agentkit.serve.http_openapi import openapi_document
from agentkit.serve.http_service import (
    DEADLINE_GRACE_S,
    SESSION_HEADER,
    Advisor,
    InvocationRequest,
    ServeSettings,
    error_status,
    new_session,
    parse_invocation,
)
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from opentelemetry.trace import TracerProvider

    from agentkit.agents.dr.agent import Answer

log = logging.getLogger("agentkit.serve")
TRACER_NAME = "agentkit.serve"
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that could not start
_ROUTES = {"/invocations", "/ping", "/health", "/openapi.json"}
_UNTRACED = {"/ping"}

Turn = Callable[[], Awaitable["Answer"]]
Work = Callable[[Callable[[str], None] | None], Awaitable["Answer"]]


class RequestError(Exception):
    """A request refused before any work: its status, code and one-line message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def problem(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


# --- turns on the event loop -------------------------------------------------------------------


@dataclass
class Job:
    done: anyio.Event
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    started: bool = False  # the turn got its slot and began
    answer: Answer | None = None
    error: BaseException | None = None


class Turns:
    """Turns in flight: at most ``capacity`` running, one at a time per session."""

    def __init__(
        self, capacity: int, *, serialise_all: bool, wall: Callable[[], float] = time.time
    ) -> None:
        self.capacity = capacity
        self.serialise_all = serialise_all
        self.in_flight = 0  # accepted and not finished: waiting or running
        self._wall = wall
        self.changed_at = wall()  # when the ping status last changed
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}
        self._slots: anyio.Semaphore | None = None
        self._group: TaskGroup | None = None

    @property
    def status(self) -> str:
        return "HealthyBusy" if self.in_flight else "Healthy"

    @property
    def running(self) -> int:
        return self.capacity - self._slots.value if self._slots is not None else 0

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Turns]:
        """The application's lifetime: leaving waits for every turn in flight."""
        self._slots = anyio.Semaphore(self.capacity)
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._group = None  # refuse new turns; the group waits for the running ones

    def submit(self, session: str, work: Turn, events: Any = None) -> Job:
        if self._group is None:
            raise RequestError(503, "shutting_down", "the server is shutting down; retry")
        job = Job(anyio.Event())
        self._count(+1)
        self._group.start_soon(self._run, job, session, work, events)
        return job

    async def _run(self, job: Job, session: str, work: Turn, events: Any) -> None:
        assert self._slots is not None
        try:
            with job.scope:  # cancelled past the deadline: a turn not started never starts
                async with self._gate(session), self._slots:
                    job.started = True
                    with anyio.CancelScope(shield=True):  # a started turn runs to its end
                        job.answer = await work()
        except Exception as error:
            job.error = error
        finally:
            self._count(-1)
            job.done.set()
            if events is not None:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    events.send_nowait(("done", None))
                events.close()

    @contextlib.asynccontextmanager
    async def _gate(self, session: str) -> AsyncIterator[None]:
        key = "*" if self.serialise_all else session
        lock, users = self._locks.get(key, (anyio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _count(self, delta: int) -> None:
        busy = self.in_flight > 0
        self.in_flight += delta
        if (self.in_flight > 0) != busy:
            self.changed_at = self._wall()


# --- the endpoints -----------------------------------------------------------------------------


class Service:
    def __init__(self, advisor: Advisor, settings: ServeSettings, turns: Turns) -> None:
        self.advisor = advisor
        self.settings = settings
        self.turns = turns
        limits = advisor.config.limits
        self.deadline_s = settings.deadline_s or limits.deadline_s + DEADLINE_GRACE_S

    async def invocations(self, request: Request) -> Response:
        try:
            body = await read_body(request, self.settings.max_body_bytes)
            invocation = parse_invocation(body, request.headers.get(SESSION_HEADER))
        except RequestError as error:
            return problem(error.status, error.code, str(error))
        except InputError as error:
            return problem(400, "invalid_request", str(error))
        session = invocation.session_id or new_session()
        trace.get_current_span().set_attribute(sc.CONVERSATION_ID, session)
        headers = {SESSION_HEADER: session}
        refused = self.advisor.refused()  # the overrides as last read (re-read every poll_s)
        if refused is not None:  # the operator's kill switch: no new turn starts
            return problem(503, "kill_switch", refused, {**headers, "Retry-After": "30"})
        if invocation.stream or _wants_events(request.headers.get("accept", "")):
            return self._stream(invocation, session, headers)
        try:
            work = self._work(invocation, session)
            job = self.turns.submit(session, lambda: work(None))
        except RequestError as error:
            return problem(error.status, error.code, str(error), headers)
        with anyio.move_on_after(self.deadline_s):
            await job.done.wait()
        if not job.done.is_set():
            job.scope.cancel()
            return problem(504, "deadline_exceeded", self._late(job), headers)
        if job.error is not None:
            return self._failed(job.error, headers)
        assert job.answer is not None
        if job.answer.source == "input_error":
            return problem(400, "invalid_request", job.answer.answer, headers)
        return JSONResponse(job.answer.to_json(), headers=headers)

    def _work(self, invocation: InvocationRequest, session: str) -> Work:
        decision = invocation.approval
        if decision is not None:
            return lambda _: self.advisor.adecide(session, decision.approved, decision.by)
        prompt = invocation.prompt
        assert prompt is not None
        return lambda on_text: self.advisor.aask(prompt, session, on_text)

    def _stream(
        self, invocation: InvocationRequest, session: str, headers: dict[str, str]
    ) -> Response:
        send, receive = anyio.create_memory_object_stream[tuple[str, Any]](math.inf)

        def on_text(piece: str) -> None:  # on the loop: guarded text only
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                send.send_nowait(("text", piece))

        work = self._work(invocation, session)
        try:
            job = self.turns.submit(session, lambda: work(on_text), events=send)
        except RequestError as error:
            send.close()
            receive.close()
            return problem(error.status, error.code, str(error), headers)
        deadline = anyio.current_time() + self.deadline_s
        sse_headers = {**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._events(job, receive, deadline),
            media_type="text/event-stream",
            headers=sse_headers,
        )

    async def _events(self, job: Job, receive: Any, deadline: float) -> AsyncIterator[bytes]:
        span = trace.get_current_span()
        with receive:
            while True:
                item: tuple[str, Any] | None = None
                with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                    item = await receive.receive()
                if item is None:  # the deadline passed
                    job.scope.cancel()
                    _span_error(span, "deadline_exceeded", "deadline exceeded")
                    yield frame("error", _error_body("deadline_exceeded", self._late(job)))
                    return
                kind, payload = item
                if kind == "text":
                    yield frame("text", {"type": "text", "text": payload})
                    continue
                yield self._final(job, span)
                return

    def _final(self, job: Job, span: Any) -> bytes:
        if job.error is not None:
            status, code = error_status(job.error)
            if status >= 500:
                _span_error(span, code, type(job.error).__name__)
            return frame("error", _error_body(code, public_message(job.error)))
        assert job.answer is not None
        if job.answer.source == "input_error":
            return frame("error", _error_body("invalid_request", job.answer.answer))
        return frame("answer", {"type": "answer", **job.answer.to_json()})

    def _late(self, job: Job) -> str:
        limit = f"the turn did not finish within the {self.deadline_s:g} s deadline"
        if job.started:
            return f"{limit}; it runs on and its session records it when it ends"
        return f"{limit}; it never started (the worker is busy); retry later"

    def _failed(self, error: BaseException, headers: dict[str, str]) -> Response:
        status, code = error_status(error)
        return problem(status, code, public_message(error), headers)

    async def ping(self, request: Request) -> Response:
        return JSONResponse(
            {"status": self.turns.status, "time_of_last_update": int(self.turns.changed_at)}
        )

    async def health(self, request: Request) -> Response:
        try:
            verdict = await anyio.to_thread.run_sync(self.advisor.health)
        except AgentkitError as error:
            return self._failed(error, {})
        report = verdict.to_json()
        report["turns"] = {
            "in_flight": self.turns.in_flight,
            "running": self.turns.running,
            "capacity": self.turns.capacity,
        }
        return JSONResponse(report, status_code=200 if verdict.healthy else 503)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.settings.max_body_bytes, self.deadline_s))


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = RequestError(
        413, "payload_too_large", f"the body is over {limit:,} bytes (--max-body-bytes)"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _wants_events(accept: str) -> bool:
    return any(part.split(";")[0].strip() == "text/event-stream" for part in accept.split(","))


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event: a named event, one ``data:`` line of JSON (no raw newlines)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}


def _span_error(span: Any, error_type: str, description: str) -> None:
    span.set_attribute(sc.ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, description))


# --- tracing -----------------------------------------------------------------------------------


class ServerSpans:
    """A SERVER span per request (``/ping`` excepted), continuing the caller's trace from its
    ``traceparent`` header; the span lasts until the last byte of the response (an SSE stream
    included), so the turn's ``invoke_agent`` span is its child."""

    def __init__(self, app: ASGIApp, tracer_provider: TracerProvider | None) -> None:
        self.app = app
        self.tracer = providers.get_tracer(TRACER_NAME, tracer_provider)
        self.propagator = TraceContextTextMapPropagator()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNTRACED:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = self.propagator.extract(carrier=headers)
        method, path = scope["method"], scope["path"]
        route = path if path in _ROUTES else None
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": path,
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if route:
            attributes["http.route"] = route
        server, client = scope.get("server"), scope.get("client")
        if server:
            attributes[sc.SERVER_ADDRESS], attributes[sc.SERVER_PORT] = server[0], server[1]
        if client:
            attributes["client.address"] = client[0]
        name = f"{method} {route}" if route else method
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_attribute(sc.ERROR_TYPE, str(status))
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, traced_send)


# --- the application ---------------------------------------------------------------------------


def create_app(
    advisor: Advisor,
    settings: ServeSettings,
    *,
    tracer_provider: TracerProvider | None = None,
    wall: Callable[[], float] = time.time,
) -> ASGIApp:
    """The ASGI application; leaving its lifespan finishes the turns in flight, then closes the
    advisor (its session store and telemetry)."""
    turns = Turns(settings.capacity, serialise_all=advisor.sessions_serialised, wall=wall)
    service = Service(advisor, settings, turns)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from agentkit.ops.active import refreshing

        try:
            # the operator overrides are re-read off the loop; turns read the last reading
            async with refreshing(advisor.overrides), turns.serving():
                yield
        finally:
            await advisor.aclose()

    async def not_found(request: Request, exc: Exception) -> Response:
        where = f"{request.method} {request.url.path}"
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"{where}: method not allowed; use {allowed}"
            return problem(405, "method_not_allowed", message, {"Allow": allowed})
        paths = ", ".join(sorted(_ROUTES))
        return problem(404, "not_found", f"{where}: no such endpoint; the endpoints: {paths}")

    async def internal(request: Request, exc: Exception) -> Response:
        log.error("request failed", exc_info=exc)
        return problem(500, "internal_error", f"internal error ({type(exc).__name__})")

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found,
        405: not_found,
        Exception: internal,
    }
    app = Starlette(
        routes=[
            Route("/invocations", service.invocations, methods=["POST"]),
            Route("/ping", service.ping, methods=["GET"]),
            Route("/health", service.health, methods=["GET"]),
            Route("/openapi.json", service.openapi, methods=["GET"]),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    if tracer_provider is None and advisor.telemetry is not None:
        tracer_provider = advisor.telemetry.tracer_provider
    return ServerSpans(app, tracer_provider)


def app_from_environment() -> ASGIApp:
    """The uvicorn factory of each worker process: settings from ``AGENTKIT_SERVE_SETTINGS``
    (set by ``agentkit serve``); a mistake is one line on stderr, not a traceback."""
    settings = ServeSettings.from_environment()
    try:
        advisor = Advisor.open(settings)
    except AgentkitError as error:
        print(f"agentkit serve: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    return create_app(advisor, settings)
