"""Bounded retries with full jitter, a per-call deadline and a process-wide retry budget.

The policy is an immutable value; per-call state lives in tenacity's ``RetryCallState``.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception
from tenacity.stop import stop_base

from agentkit.config import RetryConfig
from agentkit.errors import AgentkitError, Throttled
from agentkit.resilience.clock import Clock, SystemClock


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    @classmethod
    def from_config(cls, config: RetryConfig) -> RetryPolicy:
        return cls(config.max_attempts, config.base_delay_s, config.max_delay_s)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base x 2^(attempt-1))]."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling)

    def wait(self, state: RetryCallState, rng: random.Random) -> float:
        """The backoff, or the server's ``x-amz-retry-after`` when it asks for longer."""
        delay = self.backoff(state.attempt_number, rng)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Throttled) and error.retry_after_s is not None:
            delay = max(delay, min(error.retry_after_s, self.max_delay_s))
        return delay


class RetryBudget:
    """Retries may be at most ``ratio`` of calls, process-wide (like the SDK's retry quota, but
    visible and configurable). Each call deposits ``ratio`` tokens, each retry spends one; the
    balance starts at ``initial`` and is capped at ``cap`` so a quiet period cannot bank a storm.
    """

    def __init__(self, ratio: float, initial: float = 10.0, cap: float = 100.0) -> None:
        self.ratio = ratio
        self._balance = min(initial, cap)
        self._cap = cap
        self._lock = threading.Lock()
        self.denied = 0

    @property
    def balance(self) -> float:
        return self._balance

    def on_call(self) -> None:
        with self._lock:
            self._balance = min(self._cap, self._balance + self.ratio)

    def try_spend(self) -> bool:
        with self._lock:
            if self._balance >= 1 - 1e-9:  # ratio deposits are floats: 10 x 0.1 is one retry
                self._balance -= 1
                return True
            self.denied += 1
            return False


class StopRetrying(stop_base):
    """Stop after ``max_attempts``, when the next backoff would pass the deadline (on the
    injected clock), or when the retry budget says no, checked in that order so a retry that
    would not happen anyway spends no budget."""

    def __init__(self, policy: RetryPolicy, clock: Clock, deadline: float, budget: RetryBudget):
        self._policy = policy
        self._clock = clock
        self._deadline = deadline
        self._budget = budget
        self.reason: str | None = None

    def __call__(self, retry_state: RetryCallState) -> bool:
        if retry_state.attempt_number >= self._policy.max_attempts:
            self.reason = "max_attempts"
        elif self._clock.now() + (retry_state.upcoming_sleep or 0.0) >= self._deadline:
            self.reason = "deadline"
        elif not self._budget.try_spend():
            self.reason = "retry_budget"
        else:
            return False
        return True


def retrying(
    policy: RetryPolicy,
    *,
    clock: Clock,
    deadline: float,
    budget: RetryBudget,
    rng: random.Random,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Retrying:
    """A tenacity ``Retrying`` that retries only retryable agentkit errors, within the attempt
    bound, the deadline and the budget, sleeping on the injected clock."""
    return Retrying(
        stop=StopRetrying(policy, clock, deadline, budget),
        wait=lambda state: policy.wait(state, rng),
        retry=retry_if_exception(lambda exc: isinstance(exc, AgentkitError) and exc.retryable),
        sleep=clock.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def aretrying(policy: RetryPolicy, **options: Any) -> AsyncRetrying:
    """:func:`retrying` (the same keywords) for coroutines: the same stop, wait and retry
    rules; the backoff is awaited (``asyncio.sleep`` on the system clock, so the event loop
    keeps serving)."""
    rules = retrying(policy, **options)
    return AsyncRetrying(
        sleep=async_sleep(options["clock"]),
        stop=rules.stop,
        wait=rules.wait,
        retry=rules.retry,
        before_sleep=rules.before_sleep,
        reraise=rules.reraise,
    )


def async_sleep(clock: Clock) -> Callable[[float], Awaitable[None]]:
    """How a coroutine sleeps on ``clock``: the system clock's sleep is ``asyncio.sleep``; an
    injected clock's own ``sleep`` moves its time (a test clock's, instantly)."""
    if isinstance(clock, SystemClock):
        return asyncio.sleep

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        await asyncio.sleep(0)  # still a turn for the loop's other tasks

    return sleep
