"""The resilient Bedrock gateway: a fallback chain of routes, each breaker -> retry -> timeout.

For each call: walk the routes in order, skipping those whose breaker is open or whose Region
lacks the configured guardrail; on each route, retry retryable errors with full jitter inside the
per-call deadline and the process-wide retry budget; move on when an error says so (next Region,
next model); stop at once on errors no route can fix (an invalid request, missing credentials).
When every route fails, raise :class:`AllRoutesFailed` carrying every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, TracerProvider

from agentkit.bedrock.admission import SPILL, AdmissionGate, Answered
from agentkit.bedrock.async_client import AsyncClientFactory
from agentkit.bedrock.attempts import AsyncAttemptFn, AttemptFn, AttemptLoop, CallContext
from agentkit.bedrock.call import CallRecorder, account, answered
from agentkit.bedrock.clients import ClientFactory
from agentkit.bedrock.counting import NOT_COUNTED, TokenCounter
from agentkit.bedrock.errors import translate
from agentkit.bedrock.hedging import BothFailed, Hedger
from agentkit.bedrock.routing import RouteChain
from agentkit.bedrock.sizing import Sizing, plan, settle
from agentkit.bedrock.stream import AsyncGatewayStream, GatewayStream, aprime_stream, prime_stream
from agentkit.bedrock.types import ModelRequest, ModelResponse, Usage
from agentkit.config import AgentkitConfig, GuardrailRef, Route, optional_module
from agentkit.errors import (
    Action,
    AgentkitError,
    AllRoutesFailed,
    CircuitOpen,
    ContextWindowExceeded,
    ModelError,
)
from agentkit.residency import check_routes
from agentkit.resilience.admission import Admission, Ticket, build_admission
from agentkit.resilience.breaker import BreakerPolicy, BreakerStore, MemoryBreakerStore
from agentkit.resilience.budget import RunBudget
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.resilience.retry import RetryBudget, RetryPolicy
from agentkit.telemetry import providers
from agentkit.telemetry.listeners import BreakerTelemetry
from agentkit.telemetry.metrics import GatewayMetrics, observe_admission

T = TypeVar("T")


class Gateway:
    """Implements :class:`agentkit.bedrock.types.ModelInterface` over a chain of routes.

    The facade over four parts: the route chain (:mod:`~agentkit.bedrock.routing`), the attempt
    loop on one route (:mod:`~agentkit.bedrock.attempts`), admission control
    (:mod:`~agentkit.bedrock.admission`) and hedging (:mod:`~agentkit.bedrock.hedging`); it walks
    the chain and decides, from each error's action, whether to go on. It is also the
    :class:`~agentkit.bedrock.stream.StreamOwner` of the streams it opens.
    """

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
        self.clients = clients
        self.retry_policy = retry or RetryPolicy()
        self.retry_budget = retry_budget or RetryBudget(ratio=0.2)
        self.call_deadline_s = call_deadline_s
        self.hedge_delay_s = hedge_delay_s
        self.default_max_tokens = default_max_tokens
        self.clock = clock
        self.capture_content = capture_content
        self.admission = admission
        # Explicit providers, else the CLI command's, else the global ones (no-ops until the
        # application installs real ones).
        self._tracer = providers.get_tracer("agentkit.gateway", tracer_provider)
        meter = providers.get_meter("agentkit.gateway", meter_provider)
        self.metrics = GatewayMetrics(meter)
        self._telemetry = BreakerTelemetry(meter, self)
        self._chain = RouteChain(
            routes,
            policy=breaker or BreakerPolicy(),
            clock=clock,
            store=breaker_store or MemoryBreakerStore(clock),
            listeners=[self._telemetry],
            guardrails=guardrails or {},
            metrics=self.metrics,
        )
        self.routes = self._chain.routes
        self.guardrails = self._chain.guardrails
        self.breakers = self._chain.breakers
        self.disabled = self._chain.disabled  # route name -> why (a configuration defect)
        self._attempts = AttemptLoop(
            breakers=self.breakers,
            clients=clients,
            policy=self.retry_policy,
            retry_budget=self.retry_budget,
            deadline_s=call_deadline_s,
            clock=clock,
            rng=rng or random.Random(),
            async_clients=AsyncClientFactory(clients),
        )
        self._counter = TokenCounter(clients, self._attempts.async_clients, clock)
        self._gate = AdmissionGate(admission, self._chain.converse_kwargs)
        if admission is not None:
            observe_admission(meter, admission)
        self._hedger = Hedger(hedge_delay_s, self._gate) if hedge_delay_s else None
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
        with self._call(request) as recorder:
            kwargs = self._chain.converse_kwargs
            raw, route, ticket = self._through_routes(
                request, budget, recorder, lambda r, c: c.converse(**kwargs(request, r))
            )
            return self._answered(raw, route, ticket, budget, recorder)

    def converse_stream(
        self, request: ModelRequest | None = None, *, budget: RunBudget | None = None, **fields: Any
    ) -> GatewayStream:
        """A streamed Converse call. Retries and fallback happen until the first content event
        reaches the caller; a failure after that raises :class:`StreamInterrupted`."""
        request = self._request(request, fields)
        with self._stream_call(request) as recorder:
            primed, route, ticket = self._through_routes(
                request,
                budget,
                recorder,
                lambda r, c: prime_stream(
                    c.converse_stream(**self._chain.converse_kwargs(request, r, stream=True))
                ),
            )
        return GatewayStream(self, primed, route, recorder, budget, recorder.started, ticket)

    async def aconverse(
        self, request: ModelRequest | None = None, *, budget: RunBudget | None = None, **fields: Any
    ) -> ModelResponse:
        """:meth:`converse` as a coroutine, on the asyncio transport
        (:mod:`~agentkit.bedrock.async_client`): the same chain, breakers, admission, retries,
        deadline and telemetry, with no thread per call."""
        request = self._request(request, fields)
        with self._call(request) as recorder:
            kwargs = self._chain.converse_kwargs
            raw, route, ticket = await self._athrough_routes(
                request, budget, recorder, lambda r, c: c.converse(**kwargs(request, r))
            )
            return self._answered(raw, route, ticket, budget, recorder)

    async def aconverse_stream(
        self, request: ModelRequest | None = None, *, budget: RunBudget | None = None, **fields: Any
    ) -> AsyncGatewayStream:
        """:meth:`converse_stream` as a coroutine: ``async for`` the events of the stream it
        returns. Retries and fallback happen until the first content event."""
        request = self._request(request, fields)

        async def primed(route: Route, client: Any) -> Any:
            kwargs = self._chain.converse_kwargs(request, route, stream=True)
            return await aprime_stream(await client.converse_stream(**kwargs))

        with self._stream_call(request) as recorder:
            ready, route, ticket = await self._athrough_routes(request, budget, recorder, primed)
        return AsyncGatewayStream(self, ready, route, recorder, budget, recorder.started, ticket)

    @contextlib.contextmanager
    def _call(self, request: ModelRequest) -> Iterator[CallRecorder]:
        """The span and the recorder of one call; a failure is recorded, then raised
        unchanged."""
        with self._tracer.start_as_current_span(
            f"chat {self.routes[0].model}", kind=SpanKind.CLIENT
        ) as span:
            recorder = CallRecorder(span, request, self)
            try:
                yield recorder
            except Exception as error:
                recorder.failed(error)
                raise

    @contextlib.contextmanager
    def _stream_call(self, request: ModelRequest) -> Iterator[CallRecorder]:
        """:meth:`_call` for a stream: its span stays open for the stream to end, unless
        opening the stream failed."""
        span = self._tracer.start_span(f"chat {self.routes[0].model}", kind=SpanKind.CLIENT)
        recorder = CallRecorder(span, request, self)
        try:
            with trace.use_span(span, end_on_exit=False):
                yield recorder
        except Exception as error:
            recorder.failed(error)
            span.end()
            raise

    def breaker_states(self) -> dict[str, str]:
        return self._chain.states()

    def close(self) -> None:
        if self._hedger is not None:
            self._hedger.close()
        self._counter.close()
        self.clients.close()

    async def aclose(self) -> None:
        """Close the asyncio connection pools of the running loop, then :meth:`close`."""
        assert self._attempts.async_clients is not None
        await self._attempts.async_clients.aclose()
        self.close()

    # --- the chain -----------------------------------------------------------------------------

    def _through_routes(
        self,
        request: ModelRequest,
        budget: RunBudget | None,
        recorder: CallRecorder,
        fn: AttemptFn[T],
    ) -> Answered[T]:
        call = self._attempts.begin(request, budget, recorder)

        def run(route: Route) -> T:
            return self._attempts.run(route, call, fn)

        walk = _Walk(self._chain, self._hedger, request, recorder)
        for route, hedge in walk:
            if not self._fits(route, call, walk):
                continue
            partner = hedge if hedge is None or self._fits(hedge, call, walk) else None
            try:
                if self._hedger is not None and partner is not None:
                    return self._hedger.race(route, partner, call, run)
                ticket = self._gate.admit(route, call)
                if ticket is SPILL:
                    walk.spill(route)
                    continue
                return self._gate.holding(route, ticket, run)
            except (CircuitOpen, ModelError, BothFailed) as error:
                walk.failed(route, error)
        if walk.spilled and self.admission is not None:
            route, ticket = self._gate.wait(walk.spilled, call)
            try:
                return self._gate.holding(route, ticket, run)
            except (CircuitOpen, ModelError):
                raise AllRoutesFailed(recorder.attempts) from None
        raise walk.all_failed()

    async def _athrough_routes(
        self,
        request: ModelRequest,
        budget: RunBudget | None,
        recorder: CallRecorder,
        fn: AsyncAttemptFn[T],
    ) -> Answered[T]:
        """:meth:`_through_routes` on the event loop: the same walk, awaited."""
        call = self._attempts.begin(request, budget, recorder)

        async def run(route: Route) -> T:
            return await self._attempts.arun(route, call, fn)

        walk = _Walk(self._chain, self._hedger, request, recorder)
        for route, hedge in walk:
            if not await self._afits(route, call, walk):
                continue
            partner = hedge if hedge is None or await self._afits(hedge, call, walk) else None
            try:
                if self._hedger is not None and partner is not None:
                    return await self._hedger.arace(route, partner, call, run)
                ticket = self._gate.admit(route, call)
                if ticket is SPILL:
                    walk.spill(route)
                    continue
                return await self._gate.aholding(route, ticket, run)
            except (CircuitOpen, ModelError, BothFailed) as error:
                walk.failed(route, error)
        if walk.spilled and self.admission is not None:
            # Every route is at its quota (rare): the bounded wait for headroom blocks, so it
            # waits in a worker thread; the call itself comes back to the loop.
            route, ticket = await asyncio.to_thread(self._gate.wait, walk.spilled, call)
            try:
                return await self._gate.aholding(route, ticket, run)
            except (CircuitOpen, ModelError):
                raise AllRoutesFailed(recorder.attempts) from None
        raise walk.all_failed()

    # --- the context budget (agentkit.bedrock.sizing) -----------------------------------------

    def _fits(self, route: Route, call: CallContext, walk: _Walk) -> bool:
        """Whether the request fits the route's context window, sized once per call and route
        (CountTokens on the route when the estimate is near the window, within its share of
        the call's deadline: agentkit.bedrock.counting)."""
        sizing = walk.sizings.get(route.name)
        if sizing is None:
            kwargs = self._chain.converse_kwargs(call.request, route)
            sized = plan(route, kwargs)
            counter = self._counter
            counted = counter.count(sized, kwargs, call) if sized.count else NOT_COUNTED
            sizing = walk.sized(settle(sized, counted.tokens, counted.missing))
        return sizing.fits

    async def _afits(self, route: Route, call: CallContext, walk: _Walk) -> bool:
        """:meth:`_fits` on the event loop: the CountTokens call is awaited."""
        sizing = walk.sizings.get(route.name)
        if sizing is None:
            kwargs = self._chain.converse_kwargs(call.request, route)
            sized = plan(route, kwargs)
            counter = self._counter
            counted = await counter.acount(sized, kwargs, call) if sized.count else NOT_COUNTED
            sizing = walk.sized(settle(sized, counted.tokens, counted.missing))
        return sizing.fits

    # --- what a stream reports back (agentkit.bedrock.stream.StreamOwner) ----------------------

    def settle(self, ticket: Ticket | None, response: ModelResponse | None) -> None:
        """Settle a quota reservation on the response's usage, or on nothing (``None``)."""
        self._gate.settle(ticket, response)

    def interrupted(self, route: Route, exc: BaseException) -> AgentkitError | None:
        """A stream failed after content reached the caller (:class:`StreamOwner`)."""
        return self._attempts.interrupted(route, exc)

    # --- kept for callers of the gateway ------------------------------------------------------

    account = staticmethod(account)  # usage into the run budget, the span and the metrics

    def translate(self, exc: BaseException, route: Route) -> AgentkitError | None:
        """``exc`` in agentkit's error tree, or None when it is not Bedrock's failure."""
        return translate(exc, model=route.model, region=route.region)

    # --- helpers -------------------------------------------------------------------------------

    def _answered(
        self,
        raw: dict[str, Any],
        route: Route,
        ticket: Ticket | None,
        budget: RunBudget | None,
        recorder: CallRecorder,
    ) -> ModelResponse:
        """The response of a Converse answer, its quota settled and its usage accounted."""
        response = ModelResponse(
            message=raw["output"]["message"],
            stop_reason=raw["stopReason"],
            usage=(usage := Usage.from_wire(raw.get("usage"))),
            region=route.region,
            model=route.model,
            attempts=answered(recorder.attempts, usage),
            trace=raw.get("trace"),
            service_tier=(raw.get("serviceTier") or {}).get("type"),
        )
        self.settle(ticket, response)
        account(response, route, budget, recorder, time.perf_counter() - recorder.started)
        return response

    def _request(self, request: ModelRequest | None, fields: dict[str, Any]) -> ModelRequest:
        if request is None:
            fields.setdefault("max_tokens", self.default_max_tokens)
            return ModelRequest(**fields)
        if fields:
            raise TypeError("pass either a ModelRequest or its fields, not both")
        if request.max_tokens is None and self.default_max_tokens is not None:
            request = replace(request, max_tokens=self.default_max_tokens)
        return request


class _Walk:
    """One call's walk along the chain, shared by the sync and the async path: iterate for
    (route, its hedge partner or None) in order; report each route's failure with
    :meth:`failed` (which raises what no route can fix) and a route without headroom with
    :meth:`spill`."""

    def __init__(
        self,
        chain: RouteChain,
        hedger: Hedger | None,
        request: ModelRequest,
        recorder: CallRecorder,
    ) -> None:
        self._chain = chain
        self._hedger = hedger
        self._recorder = recorder
        self._routes = chain.eligible(request, recorder)
        self._unusable_models: set[str] = set()
        self.spilled: list[Route] = []
        self._previous: tuple[Route, str] | None = None
        self._last_error: BaseException | None = None
        self._too_large: ContextWindowExceeded | None = None
        self.sizings: dict[str, Sizing] = {}  # route name -> the request sized for it
        self._index = 0

    def __iter__(self) -> Iterator[tuple[Route, Route | None]]:
        routes, recorder = self._routes, self._recorder
        while self._index < len(routes):
            route = routes[self._index]
            self._index += 1
            skip = self._chain.skip_reason(route, self._unusable_models)
            if skip is not None:
                recorder.skipped(route, skip)
                continue
            if self._previous is not None:
                recorder.fallback(self._previous[0], route, self._previous[1])
            hedger = self._hedger
            partner = (
                hedger.partner(routes, self._index - 1, self._unusable_models) if hedger else None
            )
            yield route, partner

    def sized(self, sizing: Sizing) -> Sizing:
        """Record a route's sizing; one that does not fit passes the route over."""
        route = sizing.route
        self.sizings[route.name] = sizing
        self._recorder.sized(sizing)
        if not sizing.fits:
            self._recorder.skipped(route, "ContextWindowExceeded")
            self._previous = (route, "context_window")
            self._too_large = self._too_large or sizing.error()
        return sizing

    def spill(self, route: Route) -> None:
        self.spilled.append(route)
        self._previous = (route, "no_headroom")

    def failed(self, route: Route, error: CircuitOpen | ModelError | BothFailed) -> None:
        if isinstance(error, CircuitOpen):
            self._recorder.skipped(route, "CircuitOpen")
            self._previous = (route, "circuit_open")
            self._last_error = self._last_error or error
        elif isinstance(error, ModelError):
            if error.action in (Action.STOP, Action.REDUCE_CONTEXT):
                raise error
            if error.action is Action.NEXT_MODEL:
                self._unusable_models.add(route.model)
            self._chain.take_out(route, error, self._recorder)
            self._previous, self._last_error = (route, error.code or type(error).__name__), error
        else:  # the hedged pair: the chain goes on after its second route
            self._previous = (error.last, error.reason)
            self._last_error = error.__cause__ or error
            self._index += 1

    def all_failed(self) -> AgentkitError:
        """What the call raises when no route answered: the request too large for every
        route that could take it, else :class:`AllRoutesFailed`."""
        if self._too_large is not None and self._last_error is None:
            return self._too_large
        failed = AllRoutesFailed(self._recorder.attempts)
        failed.__cause__ = self._last_error
        return failed
