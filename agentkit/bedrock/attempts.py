"""The attempt loop on one route: breaker, then attempts with bounded retries, each translated.

The first attempt runs without tenacity (the healthy path pays nothing for retries); after a
retryable failure, tenacity takes over, starting by replaying that failure so backoff, stop rules
and events count it as attempt 1. Every attempt is recorded (route, outcome, error code, elapsed):
the records a successful response carries and :class:`~agentkit.errors.AllRoutesFailed` lists.
An exception that is not Bedrock's failure (a bug in a hook) is raised unchanged after one
attempt, and the breaker neither counts it nor stays half-open because of it.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit.bedrock.async_client import AsyncClientFactory, AsyncRuntimeClient
from agentkit.bedrock.clients import ClientFactory
from agentkit.bedrock.errors import bedrock_errors, translate
from agentkit.bedrock.types import ModelRequest
from agentkit.config import Route
from agentkit.errors import AgentkitError, ModelError
from agentkit.resilience.breaker import RouteBreaker
from agentkit.resilience.budget import RunBudget
from agentkit.resilience.clock import Clock
from agentkit.resilience.retry import RetryBudget, RetryPolicy, aretrying, retrying

if TYPE_CHECKING:
    from agentkit.bedrock.call import CallRecorder

T = TypeVar("T")
AttemptFn = Callable[[Route, Any], T]  # (route, its boto3 client) -> the call's result
# (route, its asyncio client) -> the call's result, awaited
AsyncAttemptFn = Callable[[Route, AsyncRuntimeClient], Awaitable[T]]


@dataclass(frozen=True)
class CallContext:
    """What one gateway call carries through the chain: its request, its run budget, its
    recorder and its deadline (on the injected clock)."""

    request: ModelRequest
    budget: RunBudget | None
    recorder: CallRecorder
    deadline: float


@dataclass(frozen=True)
class AttemptLoop:
    """Retries on one route within the call's deadline and the process-wide retry budget."""

    breakers: Mapping[str, RouteBreaker]
    clients: ClientFactory
    policy: RetryPolicy
    retry_budget: RetryBudget
    deadline_s: float
    clock: Clock
    rng: random.Random
    async_clients: AsyncClientFactory | None = None  # for arun

    def begin(
        self, request: ModelRequest, budget: RunBudget | None, recorder: CallRecorder
    ) -> CallContext:
        """A new call: it earns the retry budget its share and gets its deadline (the run
        budget's, when tighter)."""
        self.retry_budget.on_call()
        deadline = self.clock.now() + self.deadline_s
        if budget is not None and budget.deadline is not None:
            deadline = min(deadline, budget.deadline)
        return CallContext(request, budget, recorder, deadline)

    def run(self, route: Route, call: CallContext, fn: AttemptFn[T]) -> T:
        """Attempts on one route until one succeeds, an error is not retryable, or the
        policy, the deadline or the retry budget says stop."""
        breaker = self.breakers[route.name]
        client = self.clients.client(route.region)
        try:
            return self._attempt(route, breaker, client, call, fn)
        except AgentkitError as error:
            if not self._retries(error):
                raise
            replay: list[AgentkitError] = [error]
        for attempt in retrying(**self._retry_options(route, call)):
            with attempt:
                if replay:
                    raise replay.pop()
                return self._attempt(route, breaker, client, call, fn)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def arun(self, route: Route, call: CallContext, fn: AsyncAttemptFn[T]) -> T:
        """:meth:`run` on the event loop: the same attempts, bounds and records; the backoff
        is awaited."""
        assert self.async_clients is not None, "an attempt loop built without async clients"
        breaker = self.breakers[route.name]
        client = self.async_clients.client(route.region)
        try:
            return await self._aattempt(route, breaker, client, call, fn)
        except AgentkitError as error:
            if not self._retries(error):
                raise
            replay: list[AgentkitError] = [error]
        async for attempt in aretrying(**self._retry_options(route, call)):
            with attempt:
                if replay:
                    raise replay.pop()
                return await self._aattempt(route, breaker, client, call, fn)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def interrupted(self, route: Route, exc: BaseException) -> AgentkitError | None:
        """A failure after content reached the caller (no retry is possible): counted against
        the route's breaker and translated; None when it is not Bedrock's failure."""
        breaker = self.breakers[route.name]
        error = translate(exc, model=route.model, region=route.region)
        if error is None:  # the caller's own bug: the breaker forgets the call
            breaker.release()
        else:
            breaker.record_failure(error)
        return error

    def _retries(self, error: AgentkitError) -> bool:
        """Whether tenacity takes over after the first attempt failed with ``error``."""
        return error.retryable and self.policy.max_attempts > 1

    def _retry_options(self, route: Route, call: CallContext) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "clock": self.clock,
            "deadline": call.deadline,
            "budget": self.retry_budget,
            "rng": self.rng,
            "before_sleep": call.recorder.retry_hook(route, call.budget),
        }

    def _attempt(
        self,
        route: Route,
        breaker: RouteBreaker,
        client: Any,
        call: CallContext,
        fn: AttemptFn[T],
    ) -> T:
        with self._attempting(route, breaker, call):
            return fn(route, client)

    async def _aattempt(
        self,
        route: Route,
        breaker: RouteBreaker,
        client: AsyncRuntimeClient,
        call: CallContext,
        fn: AsyncAttemptFn[T],
    ) -> T:
        with self._attempting(route, breaker, call):
            return await fn(route, client)

    @contextlib.contextmanager
    def _attempting(self, route: Route, breaker: RouteBreaker, call: CallContext) -> Iterator[None]:
        """One attempt around the block: the run budget and the breaker admit it, its error is
        translated, and its outcome is counted by the breaker and recorded."""
        budget, recorder = call.budget, call.recorder
        if budget is not None:
            budget.check()
        breaker.admit()
        if budget is not None:
            budget.add_call()
        started = time.perf_counter()
        try:
            with bedrock_errors(route.model, route.region):
                yield
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
