from __future__ import annotations

import threading
import time

import pytest

from agentkit.errors import CircuitOpen, ModelRejected, Unavailable
from agentkit.resilience.breaker import BreakerPolicy, MemoryBreakerStore, RouteBreaker
from agentkit.resilience.clock import FakeClock


def breaker(clock: FakeClock, **policy: object) -> RouteBreaker:
    return RouteBreaker("m@r", BreakerPolicy(**policy), clock, MemoryBreakerStore(clock))  # type: ignore[arg-type]


def test_consecutive_failures_open_then_half_open_admits_one_probe() -> None:
    clock = FakeClock()
    b = breaker(clock, fail_max=2, reset_timeout_s=10)
    for _ in range(2):
        b.admit()
        b.record_failure(Unavailable("x"))
    assert b.state == "open"
    with pytest.raises(CircuitOpen):
        b.admit()
    assert b.reopens_in() == pytest.approx(10)
    clock.advance(10.5)
    b.admit()  # the probe
    with pytest.raises(CircuitOpen):
        b.admit()  # only one probe at a time
    b.record_success()
    assert b.state == "closed"


def test_non_tripping_errors_count_as_nothing() -> None:
    b = breaker(FakeClock(), fail_max=1)
    b.admit()
    b.record_failure(ModelRejected("bad request"))
    assert b.state == "closed"


def test_failure_ratio_window_opens_a_brown_out() -> None:
    clock = FakeClock()
    b = breaker(clock, fail_max=100, failure_ratio=0.5, window_s=10, min_calls=6)
    outcomes = [True, False, True, False, True, False]  # never two failures in a row
    for ok in outcomes[:-1]:
        b.admit()
        b.record_success() if ok else b.record_failure(Unavailable("x"))
    assert b.state == "closed"  # 5 calls: below min_calls
    b.admit()
    b.record_failure(Unavailable("x"))
    assert b.state == "open"  # 3 of 6 failed


def test_ratio_window_forgets_old_calls() -> None:
    clock = FakeClock()
    b = breaker(clock, fail_max=100, failure_ratio=0.5, window_s=10, min_calls=4)
    for _ in range(3):
        b.record_failure(Unavailable("x"))
    clock.advance(11)
    for _ in range(3):
        b.record_success()
    b.record_failure(Unavailable("x"))
    assert b.state == "closed"  # only 1 of the last 4 inside the window failed


def test_calls_through_one_breaker_are_not_serialised() -> None:
    b = breaker(FakeClock())
    inside = threading.Barrier(4, timeout=5)

    def call() -> None:
        b.admit()
        inside.wait()  # all four must be in flight at once
        time.sleep(0.01)
        b.record_success()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.state == "closed"
