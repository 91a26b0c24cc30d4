"""A circuit breaker per route, on pybreaker's state machine, listeners and storage.

Why not ``CircuitBreaker.call(bedrock_call)``: pybreaker holds its lock for the whole guarded
call, which would serialise every concurrent request through a route. Instead the breaker is
asked before the call (:meth:`RouteBreaker.admit`) and told the outcome after it
(:meth:`RouteBreaker.record_success` / :meth:`RouteBreaker.record_failure`), each a short
critical section; when the reset timeout has passed, exactly one caller is let through as the
half-open probe.

Trip rule: ``fail_max`` consecutive failures (pybreaker), plus an optional failure-ratio window
(Polly's advanced breaker): open when, within the last ``window_s``, at least ``min_calls``
calls were made and the share that failed reached ``failure_ratio``. Consecutive failures catch
a hard outage fast; the ratio catches a brown-out where successes keep resetting the count.
Errors whose class says ``trips_breaker = False`` (validation, access denied, not found, content
filtered) count as neither failure nor success, and so does an exception that is not a model
error at all (a bug in the caller's code is not the route's fault): :meth:`RouteBreaker.release`.

Slow calls: a black-holed Region costs a full timeout per call, so waiting for ``fail_max``
of them is expensive. Read timeouts, and successful calls slower than ``slow_call_s``, are
counted apart; ``slow_fail_max`` of them in a row open the breaker (resilience4j's slow-call
rule, with a streak instead of a rate). A fast success ends the streak.

State lives in a :class:`BreakerStore`: in memory by default; a store shared by a fleet
(:mod:`agentkit.resilience.redis_state`) also hands out a :class:`ProbeGate` per route, so that
exactly one worker of the fleet, not one per process, makes the half-open probe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pybreaker

from agentkit.errors import AttemptTimedOut, CircuitOpen, ModelError
from agentkit.resilience.clock import Clock

CLOSED, OPEN, HALF_OPEN = pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN


@dataclass(frozen=True)
class BreakerPolicy:
    fail_max: int = 5
    reset_timeout_s: float = 30.0
    failure_ratio: float | None = None  # e.g. 0.5; None turns the ratio window off
    window_s: float = 30.0
    min_calls: int = 10
    slow_call_s: float | None = None  # a success slower than this counts as slow; None: off
    slow_fail_max: int = 2  # timeouts or slow calls in a row that open the breaker
    # How long a spent daily token quota keeps the route out. AWS documents the quota as tokens
    # per day per model and Region but not when the window resets: an hour is an assumption
    # (one probe an hour is cheap); set it to what your account shows.
    daily_quota_cooldown_s: float = 3600.0


class ClockedMemoryStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's memory storage, with ``opened_at`` kept on an injected clock so the reset
    timeout can be tested without sleeping."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(CLOSED)
        self._clock = clock
        self._opened_mono: float | None = None

    @property
    def opened_at(self) -> datetime | None:
        if self._opened_mono is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=self._clock.now() - self._opened_mono)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened_mono = self._clock.now()


class BreakerStore(Protocol):
    def storage(self, route: str) -> pybreaker.CircuitBreakerStorage: ...


class ProbeGate(Protocol):
    """A fleet-wide "one probe at a time" lock for one route; it expires by itself (a worker
    that dies mid-probe does not keep the route out)."""

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class SharedBreakerStore(BreakerStore, Protocol):
    def probe_gate(self, route: str) -> ProbeGate: ...


class MemoryBreakerStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def storage(self, route: str) -> pybreaker.CircuitBreakerStorage:
        return ClockedMemoryStorage(self._clock)


def _trips(exc: BaseException) -> bool:
    return not isinstance(exc, ModelError) or exc.trips_breaker


def _slow(exc: BaseException) -> bool:
    """Our own read timeout (a black hole), not Bedrock's ModelTimeoutException answer."""
    return isinstance(exc, AttemptTimedOut)


class _Raise:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __call__(self) -> None:
        raise self.exc


class RouteBreaker:
    def __init__(
        self,
        route: str,
        policy: BreakerPolicy,
        clock: Clock,
        store: BreakerStore,
        listeners: Sequence[pybreaker.CircuitBreakerListener] = (),
    ) -> None:
        self.route = route
        self.policy = policy
        self._clock = clock
        self._cb = pybreaker.CircuitBreaker(
            fail_max=policy.fail_max,
            reset_timeout=policy.reset_timeout_s,
            exclude=[lambda exc: not _trips(exc)],
            listeners=list(listeners),
            state_storage=store.storage(route),
            name=route,
            throw_new_error_on_trip=False,
        )
        self._lock = threading.Lock()
        self._probing = False
        probe_gate = getattr(store, "probe_gate", None)
        self._gate: ProbeGate | None = probe_gate(route) if probe_gate is not None else None
        self._slow_streak = 0
        self._cooldown_until: float | None = None
        self._window: deque[tuple[float, bool]] = deque()

    @property
    def state(self) -> str:
        if self._cooling() is not None:
            return OPEN
        return str(self._cb.current_state)

    def cool_down(self, seconds: float) -> None:
        """Keep the route out for ``seconds`` on the injected clock (a spent daily quota), then
        let one call through as an ordinary breaker would."""
        with self._lock:
            self._cooldown_until = self._clock.now() + seconds

    def _cooling(self) -> float | None:
        """Seconds of cool-down left, or None."""
        until = self._cooldown_until
        if until is None:
            return None
        left = until - self._clock.now()
        if left > 0:
            return left
        self._cooldown_until = None
        return None

    def reopens_in(self) -> float | None:
        """Seconds until an open breaker lets a probe through (None when not open)."""
        cooling = self._cooling()
        if cooling is not None:
            return cooling
        if self.state != OPEN:
            return None
        opened_at = self._cb._state_storage.opened_at
        if opened_at is None:
            return 0.0
        elapsed = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.policy.reset_timeout_s - elapsed)

    def admit(self) -> None:
        """Let a call through, or raise :class:`CircuitOpen`."""
        cooling = self._cooling()
        if cooling is not None:
            raise CircuitOpen(self.route, until=self._clock.now() + cooling)
        state = self.state
        if state == CLOSED:
            return
        wait = self.reopens_in()
        if state == OPEN and wait:
            raise CircuitOpen(self.route, until=self._clock.now() + wait)
        with self._lock:  # open with the timeout passed, or half-open: one probe at a time
            if self._probing or not self._gate_allows():
                raise CircuitOpen(self.route, until=self._clock.now() + self.policy.reset_timeout_s)
            self._probing = True

    def _gate_allows(self) -> bool:
        """Another worker of the fleet may hold the probe (a shared store only)."""
        return self._gate is None or self._gate.try_acquire()

    def record_success(self, elapsed_s: float = 0.0) -> None:
        slow = self.policy.slow_call_s is not None and elapsed_s > self.policy.slow_call_s
        if slow:
            self._count_slow()
        elif self._slow_streak:
            with self._lock:
                self._slow_streak = 0
        healthy = self._cb.current_state == CLOSED and self._cb.fail_counter == 0
        if healthy and self.policy.failure_ratio is None and not self._probing:
            return  # the hot path: nothing for pybreaker to reset or announce
        self._finish(lambda: None, ok=True)

    def record_failure(self, exc: BaseException) -> None:
        if not _trips(exc):
            self._release_probe()
            return
        self._finish(_Raise(exc), ok=False)
        if _slow(exc):
            self._count_slow()

    def release(self) -> None:
        """The call ended in a way that says nothing about the route's health."""
        self._release_probe()

    def _count_slow(self) -> None:
        with self._lock:
            self._slow_streak += 1
            trips = self._slow_streak >= self.policy.slow_fail_max
            if trips:
                self._slow_streak = 0
        if trips and self.state != OPEN:
            self._cb.open()

    def _finish(self, outcome: Callable[[], Any], ok: bool) -> None:
        try:
            self._cb.call(outcome)
        except Exception:
            pass
        finally:
            self._release_probe()
        if self.policy.failure_ratio is not None and self._ratio_trips(ok):
            self._cb.open()

    def _release_probe(self) -> None:
        with self._lock:
            probing, self._probing = self._probing, False
        if probing and self._gate is not None:
            self._gate.release()

    def _ratio_trips(self, ok: bool) -> bool:
        now = self._clock.now()
        with self._lock:
            self._window.append((now, ok))
            while self._window and self._window[0][0] < now - self.policy.window_s:
                self._window.popleft()
            calls = len(self._window)
            failures = sum(1 for _, good in self._window if not good)
            if calls < self.policy.min_calls or self.state != CLOSED:
                return False
            assert self.policy.failure_ratio is not None
            if failures / calls >= self.policy.failure_ratio:
                self._window.clear()
                return True
        return False
