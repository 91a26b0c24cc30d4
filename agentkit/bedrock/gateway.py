"""The resilient Bedrock gateway: a fallback chain of routes, each breaker -> retry -> timeout.

For each call: walk the routes in order, skipping those whose breaker is open or whose Region
lacks the configured guardrail; on each route, retry retryable errors with full jitter inside the
per-call deadline and the process-wide retry budget; move on when an error says so (next Region,
next model); stop at once on errors no route can fix (an invalid request, missing credentials).
When every route fails, raise :class:`AllRoutesFailed` carrying every attempt.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider, Observation
from opentelemetry.trace import SpanKind, TracerProvider

from agentkit.bedrock.call import CallRecorder
from agentkit.bedrock.clients import ClientFactory
from agentkit.bedrock.errors import bedrock_errors, translate
from agentkit.bedrock.stream import GatewayStream, prime_stream
from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.bedrock.types import ModelRequest, ModelResponse, Usage
from agentkit.config import AgentkitConfig, GuardrailRef, Route, optional_module
from agentkit.errors import (
    Action,
    AgentkitError,
    AllRoutesFailed,
    CircuitOpen,
    DailyQuotaExhausted,
    ModelError,
)
from agentkit.residency import check_routes
from agentkit.resilience.admission import Admission, Ticket, build_admission
from agentkit.resilience.breaker import (
    BreakerPolicy,
    BreakerStore,
    MemoryBreakerStore,
    RouteBreaker,
)
from agentkit.resilience.budget import RunBudget
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.resilience.retry import RetryBudget, RetryPolicy, retrying
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.listeners import BreakerTelemetry
from agentkit.telemetry.metrics import GatewayMetrics

T = TypeVar("T")
AttemptFn = Callable[[Route, Any], T]


class Gateway:
    """Implements :class:`agentkit.bedrock.types.ModelInterface` over a chain of routes."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        clients: ClientFactory,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        call_deadline_s: float = 120.0,
        hedge_delay_s: float | None = None,
        default_max_tokens: int | None = None,
        guardrails: Mapping[str, GuardrailRef] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        breaker_store: BreakerStore | None = None,
        capture_content: bool = False,
        admission: Admission | None = None,
    ) -> None:
        if not routes:
            raise ValueError("a gateway needs at least one route")
        self.routes = tuple(routes)
        self.clients = clients
        self.retry_policy = retry or RetryPolicy()
        self.retry_budget = retry_budget or RetryBudget(ratio=0.2)
        self.call_deadline_s = call_deadline_s
        self.hedge_delay_s = hedge_delay_s
        self.default_max_tokens = default_max_tokens
        self.guardrails = dict(guardrails or {})
        self.clock = clock
        self.capture_content = capture_content
        self.admission = admission
        self._rng = rng or random.Random()
        # Explicit providers, else the CLI command's, else the global ones (no-ops until the
        # application installs real ones).
        self._tracer = providers.get_tracer("agentkit.gateway", tracer_provider)
        meter = providers.get_meter("agentkit.gateway", meter_provider)
        self.metrics = GatewayMetrics(meter)
        self._telemetry = BreakerTelemetry(meter, self)
        store = breaker_store or MemoryBreakerStore(clock)
        policy = breaker or BreakerPolicy()
        self.disabled: dict[str, str] = {}  # route name -> why (a configuration defect)
        self.breakers = {
            r.name: RouteBreaker(r.name, policy, clock, store, [self._telemetry])
            for r in self.routes
        }
        if admission is not None:
            meter.create_observable_gauge(
                sc.METRIC_ADMISSION_AVAILABLE,
                callbacks=[
                    lambda _: [
                        Observation(s.level, {sc.ROUTE: route})
                        for route, s in admission.state().items()
                    ]
                ],
                unit="{token}",
                description="Quota tokens available to admit calls, per route",
            )
        self._pool = (
            ThreadPoolExecutor(8, thread_name_prefix="agentkit-hedge") if hedge_delay_s else None
        )
        self._warming = clients.warm_in_background(r.region for r in self.routes)

    @classmethod
    def from_config(cls, config: AgentkitConfig, **overrides: Any) -> Gateway:
        """Build the gateway ``agentkit.yaml`` describes; residency is checked here."""
        check_routes(config.models)
        resilience = config.resilience
        options: dict[str, Any] = {
            "clients": ClientFactory(resilience.timeouts, config.models.endpoints),
            "retry": RetryPolicy.from_config(resilience.retry),
            "breaker": BreakerPolicy(**resilience.breaker.model_dump()),
            "retry_budget": RetryBudget(ratio=resilience.retry.budget_ratio),
            "call_deadline_s": config.limits.deadline_s,
            "hedge_delay_s": resilience.hedge.delay_s if resilience.hedge.enabled else None,
            "default_max_tokens": config.limits.max_tokens,
            "guardrails": config.guardrails,
            "capture_content": config.telemetry.capture_content,
        }
        options.update(overrides)
        bucket = None
        if resilience.state.backend == "redis":  # shared by a fleet (docs/scaleout.md)
            shared_state = optional_module("agentkit.resilience.redis_state", "resilience.state")
            RedisState = shared_state.RedisState

            shared = RedisState.from_config(
                resilience.state,
                clock=overrides.get("clock"),
                meter_provider=overrides.get("meter_provider"),
            )
            options.setdefault("breaker_store", shared.breaker_store)
            if "retry_budget" not in overrides:
                options["retry_budget"] = shared.retry_budget(resilience.retry.budget_ratio)
            bucket = shared.bucket
        if "admission" not in options:
            clock = options.get("clock", SYSTEM_CLOCK)
            options["admission"] = build_admission(
                config.models.routes, resilience.admission, clock, bucket
            )
        return cls(config.models.routes, **options)

    # --- the model interface -------------------------------------------------------------------

    def converse(
        self, request: ModelRequest | None = None, *, budget: RunBudget | None = None, **fields: Any
    ) -> ModelResponse:
        """One Converse call through the fallback chain. ``fields`` build a request when none
        is given: ``gw.converse(messages=[...], max_tokens=256)``."""
        request = self._request(request, fields)
        with self._tracer.start_as_current_span(
            f"chat {self.routes[0].model}", kind=SpanKind.CLIENT
        ) as span:
            recorder = CallRecorder(span, request, self)
            started = time.perf_counter()
            try:
                raw, route, ticket = self._through_routes(
                    request, budget, recorder, lambda r, c: c.converse(**self._kwargs(request, r))
                )
            except Exception as error:  # recorded, then raised unchanged
                recorder.failed(error)
                raise
            response = ModelResponse(
                message=raw["output"]["message"],
                stop_reason=raw["stopReason"],
                usage=Usage.from_wire(raw.get("usage")),
                region=route.region,
                model=route.model,
                attempts=tuple(recorder.attempts),
                trace=raw.get("trace"),
                service_tier=(raw.get("serviceTier") or {}).get("type"),
            )
            self.settle(ticket, response)
            self.account(response, route, budget, recorder, time.perf_counter() - started)
            return response

    def converse_stream(
        self, request: ModelRequest | None = None, *, budget: RunBudget | None = None, **fields: Any
    ) -> GatewayStream:
        """A streamed Converse call. Retries and fallback happen until the first content event
        reaches the caller; a failure after that raises :class:`StreamInterrupted`."""
        request = self._request(request, fields)
        span = self._tracer.start_span(f"chat {self.routes[0].model}", kind=SpanKind.CLIENT)
        recorder = CallRecorder(span, request, self)
        started = time.perf_counter()
        try:
            with trace.use_span(span, end_on_exit=False):
                primed, route, ticket = self._through_routes(
                    request,
                    budget,
                    recorder,
                    lambda r, c: prime_stream(
                        c.converse_stream(**self._kwargs(request, r, stream=True))
                    ),
                )
        except Exception as error:  # recorded, then raised unchanged
            recorder.failed(error)
            span.end()
            raise
        return GatewayStream(self, primed, route, recorder, budget, started, ticket)

    def breaker_states(self) -> dict[str, str]:
        return {name: breaker.state for name, breaker in self.breakers.items()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.clients.close()

    # --- the chain -----------------------------------------------------------------------------

    def _through_routes(
        self,
        request: ModelRequest,
        budget: RunBudget | None,
        recorder: CallRecorder,
        fn: AttemptFn[T],
    ) -> tuple[T, Route, Ticket | None]:
        self.retry_budget.on_call()
        deadline = self.clock.now() + self.call_deadline_s
        if budget is not None and budget.deadline is not None:
            deadline = min(deadline, budget.deadline)
        routes = self.routes
        if self.guardrails:
            routes = tuple(r for r in routes if self._guardrail_allows(r, request, recorder))
        unusable_models: set[str] = set()
        spilled: list[Route] = []
        previous: tuple[Route, str] | None = None
        last_error: BaseException | None = None
        index = 0
        while index < len(routes):
            route = routes[index]
            index += 1
            if route.model in unusable_models:
                recorder.skipped(route, "ModelUnsupported")
                continue
            if route.name in self.disabled:
                recorder.skipped(route, "RouteDisabled")
                continue
            if previous is not None:
                recorder.fallback(previous[0], route, previous[1])
            hedge = self._hedge_partner(routes, index - 1, unusable_models)
            try:
                if hedge is not None:
                    return self._hedged(route, hedge, request, budget, recorder, deadline, fn)
                ticket = self._admit(route, request, recorder)
                if ticket is _SPILL:
                    spilled.append(route)
                    previous = (route, "no_headroom")
                    continue
                return self._admitted(route, ticket, budget, recorder, deadline, fn)
            except CircuitOpen as error:
                recorder.skipped(route, "CircuitOpen")
                previous, last_error = (route, "circuit_open"), last_error or error
            except ModelError as error:
                if error.action in (Action.STOP, Action.REDUCE_CONTEXT):
                    raise
                if error.action is Action.NEXT_MODEL:
                    unusable_models.add(route.model)
                self._take_out(route, error, recorder)
                previous, last_error = (route, error.code or type(error).__name__), error
            except _BothFailed as both:
                previous, last_error = (both.last, both.reason), both.__cause__ or both
                index += 1
        if spilled and self.admission is not None:
            return self._queued(spilled, request, budget, recorder, deadline, fn)
        raise AllRoutesFailed(recorder.attempts) from last_error

    def _take_out(self, route: Route, error: ModelError, recorder: CallRecorder) -> None:
        """A spent daily quota cools the route down; a configuration defect (a policy deny, a
        model the route cannot serve) disables it for the process, loudly."""
        breaker = self.breakers[route.name]
        if isinstance(error, DailyQuotaExhausted):
            breaker.cool_down(breaker.policy.daily_quota_cooldown_s)
        elif error.disables_route and route.name not in self.disabled:
            self.disabled[route.name] = str(error)
            recorder.span.add_event(
                sc.EVENT_ROUTE_DISABLED,
                {sc.ROUTE: route.name, sc.ERROR_TYPE: type(error).__name__, "reason": str(error)},
            )
            self.metrics.routes_disabled.add(
                1, {sc.ROUTE: route.name, sc.ERROR_TYPE: type(error).__name__}
            )
            _log.error("route %s disabled for this process: %s", route.name, error)

    # --- admission ------------------------------------------------------------------------------

    def _admit(
        self, route: Route, request: ModelRequest, recorder: CallRecorder
    ) -> Ticket | _Spill | None:
        """A ticket, None (no admission control on this route), or _SPILL (no headroom now)."""
        if self.admission is None or not self.admission.controls(route.name):
            return None
        ticket = self.admission.try_admit(
            route.name, self._input_tokens(request, route), self._reserved_output(request)
        )
        if ticket is None:
            recorder.skipped(route, "NoHeadroom")
            recorder.span.add_event(
                sc.EVENT_ADMISSION, {sc.ROUTE: route.name, "decision": "spilled"}
            )
            return _SPILL
        return ticket

    def _admitted(
        self,
        route: Route,
        ticket: Ticket | _Spill | None,
        budget: RunBudget | None,
        recorder: CallRecorder,
        deadline: float,
        fn: AttemptFn[T],
    ) -> tuple[T, Route, Ticket | None]:
        held = ticket if isinstance(ticket, Ticket) else None
        try:
            return self._on_route(route, budget, recorder, deadline, fn), route, held
        except BaseException:
            self.settle(held, None)  # a failed call used nothing
            raise

    def _queued(
        self,
        spilled: list[Route],
        request: ModelRequest,
        budget: RunBudget | None,
        recorder: CallRecorder,
        deadline: float,
        fn: AttemptFn[T],
    ) -> tuple[T, Route, Ticket | None]:
        """Every route was at its quota: wait (bounded, by priority) for headroom on one."""
        assert self.admission is not None
        recorder.span.add_event(
            sc.EVENT_ADMISSION, {"decision": "queued", "priority": request.priority}
        )
        first = spilled[0]
        ticket = self.admission.wait_admit(
            [r.name for r in spilled],
            self._input_tokens(request, first),
            self._reserved_output(request),
            request.priority,
        )
        route = next(r for r in spilled if r.name == ticket.route)
        try:
            return self._admitted(route, ticket, budget, recorder, deadline, fn)
        except (CircuitOpen, ModelError):
            raise AllRoutesFailed(recorder.attempts) from None

    def _input_tokens(self, request: ModelRequest, route: Route) -> int:
        return converse_input_tokens(self._kwargs(request, route))

    def _reserved_output(self, request: ModelRequest) -> int:
        return request.max_tokens or DEFAULT_RESERVED_OUTPUT

    def settle(self, ticket: Ticket | None, response: ModelResponse | None) -> None:
        if ticket is None or self.admission is None:
            return
        if response is None:
            self.admission.settle(ticket)
        else:
            self.admission.settle(ticket, response.usage.input_tokens, response.usage.output_tokens)

    def _on_route(
        self,
        route: Route,
        budget: RunBudget | None,
        recorder: CallRecorder,
        deadline: float,
        fn: AttemptFn[T],
    ) -> T:
        """Attempts on one route. The first attempt runs without tenacity (the healthy path
        pays nothing for retries); after a retryable failure, tenacity takes over, starting by
        replaying that failure so backoff, stop rules and events count it as attempt 1."""
        breaker = self.breakers[route.name]
        client = self.clients.client(route.region)
        try:
            return self._attempt(route, breaker, client, budget, recorder, fn)
        except AgentkitError as error:
            if not error.retryable or self.retry_policy.max_attempts == 1:
                raise
            replay: list[AgentkitError] = [error]
        policy_retry = retrying(
            self.retry_policy,
            clock=self.clock,
            deadline=deadline,
            budget=self.retry_budget,
            rng=self._rng,
            before_sleep=recorder.retry_hook(route, budget),
        )
        for attempt in policy_retry:
            with attempt:
                if replay:
                    raise replay.pop()
                return self._attempt(route, breaker, client, budget, recorder, fn)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _attempt(
        self,
        route: Route,
        breaker: RouteBreaker,
        client: Any,
        budget: RunBudget | None,
        recorder: CallRecorder,
        fn: AttemptFn[T],
    ) -> T:
        if budget is not None:
            budget.check()
        breaker.admit()
        if budget is not None:
            budget.add_call()
        started = time.perf_counter()
        try:
            with bedrock_errors(route.model, route.region):
                result = fn(route, client)
        except ModelError as error:
            breaker.record_failure(error)
            recorder.attempted(route, "error", error.code, time.perf_counter() - started)
            raise
        except BaseException as error:  # not Bedrock's failure: a bug, or an interrupt
            breaker.release()
            recorder.attempted(route, "error", type(error).__name__, time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        breaker.record_success(elapsed)
        recorder.attempted(route, "ok", None, elapsed)
        return result

    # --- hedging -------------------------------------------------------------------------------

    def _hedge_partner(
        self, routes: Sequence[Route], index: int, unusable: set[str]
    ) -> Route | None:
        if self.hedge_delay_s is None:
            return None
        later = [r for r in routes[index + 1 :] if r.model not in unusable]
        return later[0] if later and index == 0 else None

    def _hedged(
        self,
        first: Route,
        second: Route,
        request: ModelRequest,
        budget: RunBudget | None,
        recorder: CallRecorder,
        deadline: float,
        fn: AttemptFn[T],
    ) -> tuple[T, Route, Ticket | None]:
        """Start ``first``; if it has not answered within the hedge delay, start ``second`` too
        and take whichever answers first. Each leg goes through admission control like any
        request (no headroom for the hedge: no hedge). The loser's result is discarded (a
        blocking boto3 call cannot be interrupted; it ends at its own read timeout), recorded as
        abandoned, and its quota reservation settled when it ends."""
        assert self.hedge_delay_s is not None
        assert self._pool is not None
        pool = self._pool
        first_ticket = self._admit(first, request, recorder)
        if first_ticket is _SPILL:
            raise _BothFailed(first, "no_headroom")
        running: dict[Future[tuple[T, Route, Ticket | None]], Route] = {
            pool.submit(self._admitted, first, first_ticket, budget, recorder, deadline, fn): first
        }
        done, _ = wait(running, timeout=self.hedge_delay_s)
        if not done:
            second_ticket = self._admit(second, request, recorder)
            if second_ticket is not _SPILL:
                recorder.hedged(first, second)
                leg = pool.submit(
                    self._admitted, second, second_ticket, budget, recorder, deadline, fn
                )
                running[leg] = second
        errors: list[BaseException] = []
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                error = future.exception()
                if error is None:
                    for loser, route in running.items():
                        recorder.abandoned(route)
                        loser.add_done_callback(self._settle_abandoned)
                    return future.result()
                errors.append(error)
                if isinstance(error, ModelError) and error.action in (
                    Action.STOP,
                    Action.REDUCE_CONTEXT,
                ):
                    raise error
        if len(errors) == 1:
            raise errors[0]
        raise _BothFailed(
            second, getattr(errors[-1], "code", type(errors[-1]).__name__)
        ) from errors[-1]

    def _settle_abandoned(self, future: Future[tuple[Any, Route, Ticket | None]]) -> None:
        """A hedge leg that lost: release what it reserved (a failed leg settled already)."""
        if future.cancelled() or future.exception() is not None:
            return
        result, _, ticket = future.result()
        if ticket is None or self.admission is None:
            return
        raw = result if isinstance(result, dict) else {}
        if "usage" not in raw:  # a primed stream: nothing used that can be counted
            self.admission.settle(ticket)
            return
        usage = Usage.from_wire(raw["usage"])
        self.admission.settle(ticket, usage.input_tokens, usage.output_tokens)

    # --- helpers -------------------------------------------------------------------------------

    def _request(self, request: ModelRequest | None, fields: dict[str, Any]) -> ModelRequest:
        if request is None:
            fields.setdefault("max_tokens", self.default_max_tokens)
            return ModelRequest(**fields)
        if fields:
            raise TypeError("pass either a ModelRequest or its fields, not both")
        if request.max_tokens is None and self.default_max_tokens is not None:
            request = replace(request, max_tokens=self.default_max_tokens)
        return request

    def _kwargs(self, request: ModelRequest, route: Route, stream: bool = False) -> dict[str, Any]:
        kwargs = request.to_converse(route.model)
        if route.service_tier:
            kwargs["serviceTier"] = {"type": route.service_tier}
        if route.latency:
            kwargs["performanceConfig"] = {"latency": route.latency}
        ref = self.guardrails.get(route.region)
        if ref is not None and request.guardrail is None:
            kwargs["guardrailConfig"] = {
                "guardrailIdentifier": ref.id,
                "guardrailVersion": ref.version,
            }
            if stream:  # the guardrail checks each chunk before it is sent, not after
                kwargs["guardrailConfig"]["streamProcessingMode"] = "sync"
        return kwargs

    def _guardrail_allows(
        self, route: Route, request: ModelRequest, recorder: CallRecorder
    ) -> bool:
        """With guardrails configured, a Region without one is no valid fallback (parity rule)."""
        if request.guardrail is not None or route.region in self.guardrails:
            return True
        recorder.skipped(route, "NoGuardrailInRegion")
        return False

    def account(
        self,
        response: ModelResponse,
        route: Route,
        budget: RunBudget | None,
        recorder: CallRecorder,
        duration_s: float,
    ) -> None:
        """Usage into the run budget, the span and the metrics."""
        if budget is not None:
            budget.add_usage(response.usage.input_tokens, response.usage.output_tokens)
        recorder.succeeded(response, route, duration_s)

    def translate(self, exc: BaseException, route: Route) -> AgentkitError | None:
        return translate(exc, model=route.model, region=route.region)


_log = logging.getLogger("agentkit.gateway")


class _Spill:
    """The route has no quota headroom now: try the next one."""


_SPILL = _Spill()
DEFAULT_RESERVED_OUTPUT = 4096  # Bedrock reserves the model maximum when max_tokens is unset


class _BothFailed(Exception):
    def __init__(self, last: Route, reason: str) -> None:
        super().__init__(reason)
        self.last = last
        self.reason = reason
