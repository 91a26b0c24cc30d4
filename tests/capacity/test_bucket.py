"""TokenBucket with an injected clock: reserve, refill, settle, debt; never sleeps."""

from __future__ import annotations

import math

import pytest

from agentkit.capacity.accounting import reservation_tokens, settlement_tokens
from agentkit.capacity.bucket import TokenBucket
from agentkit.resilience.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_starts_full_and_reserves(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)
    assert bucket.available() == 60_000
    reservation = bucket.try_reserve(8_400)
    assert reservation is not None
    assert reservation.tokens == 8_400
    assert reservation.at == clock.now()
    assert bucket.available() == 51_600


def test_refuses_without_holding_anything_and_says_how_long_to_wait(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)  # refills 1,000 tokens per second
    assert bucket.try_reserve(50_000) is not None
    assert bucket.try_reserve(20_000) is None
    assert bucket.available() == 10_000
    assert bucket.wait_time(20_000) == pytest.approx(10.0)
    clock.advance(10)
    assert bucket.try_reserve(20_000) is not None
    assert clock.slept == []


def test_refill_is_capped_at_capacity(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, capacity=10_000, clock=clock)
    assert bucket.available() == 10_000
    assert bucket.try_reserve(10_000) is not None
    clock.advance(3600)
    assert bucket.available() == 10_000


def test_settle_refunds_the_unused_reservation(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)
    reserved = reservation_tokens(3_400, 1_000, 5)  # 8,400
    reservation = bucket.try_reserve(reserved)
    assert reservation is not None
    refund = bucket.settle(reservation, settlement_tokens(3_400, 200, 5))  # 4,400 used
    assert refund == 4_000
    assert bucket.available() == 60_000 - 4_400


def test_settling_above_the_reservation_goes_into_debt(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock, start_full=False)
    clock.advance(10)  # 10,000 tokens
    reservation = bucket.try_reserve(10_000)
    assert reservation is not None
    assert bucket.settle(reservation, 16_000) == -6_000
    assert bucket.available() == -6_000
    assert bucket.wait_time(1_000) == pytest.approx(7.0)


def test_each_reservation_settles_once(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)
    reservation = bucket.try_reserve(1_000)
    assert reservation is not None
    bucket.settle(reservation, 0)
    assert bucket.available() == 60_000
    with pytest.raises(ValueError, match="already settled"):
        bucket.settle(reservation, 0)


def test_state_snapshot(clock: FakeClock) -> None:
    bucket = TokenBucket(120_000, capacity=30_000, clock=clock)
    first = bucket.try_reserve(5_000)
    bucket.try_reserve(7_000)
    state = bucket.state()
    assert (state.level, state.capacity, state.tokens_per_minute) == (18_000, 30_000, 120_000)
    assert (state.outstanding, state.reservations) == (12_000, 2)
    assert first is not None
    bucket.settle(first, 5_000)
    assert bucket.state().outstanding == 7_000


def test_a_request_larger_than_capacity_is_never_admitted(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)
    assert bucket.wait_time(60_001) == math.inf
    assert bucket.try_reserve(60_001) is None
    assert bucket.wait_time(0) == 0


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_bad_rates_are_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        TokenBucket(rate)


def test_bad_capacity_and_token_counts_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="capacity must be positive"):
        TokenBucket(60_000, capacity=0, clock=clock)
    bucket = TokenBucket(60_000, clock=clock)
    with pytest.raises(ValueError, match="must not be negative"):
        bucket.try_reserve(-1)
    with pytest.raises(ValueError, match="must not be negative"):
        bucket.wait_time(float("nan"))


def test_a_clock_going_backwards_does_not_drain_the_bucket(clock: FakeClock) -> None:
    bucket = TokenBucket(60_000, clock=clock)
    assert bucket.try_reserve(30_000) is not None
    clock.advance(-5)
    assert bucket.available() == 30_000
