"""WindowBucket (admission's sliding one-minute window) with an injected clock; never sleeps."""

from __future__ import annotations

import math
import random

import pytest

from agentkit.capacity.bucket import WindowBucket
from agentkit.resilience.clock import FakeClock
from tests.capacity.windows import drive, worst_window

TPM = 4_800


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_no_60_second_window_admits_more_than_the_quota_even_after_idling(
    clock: FakeClock,
) -> None:
    """Greedy bursts from cold, an idle spell, bursts again: every window, sliding."""
    bucket = WindowBucket(TPM, clock=clock)
    start = clock.now()
    admitted = drive(bucket, clock, random.Random(7))
    assert worst_window(admitted) <= TPM  # exactly: the bound needs no tolerance
    first_minute = sum(a.tokens for a in admitted if a.at < start + 60)
    assert first_minute >= 0.95 * TPM  # greedy callers are not starved either


def test_the_old_refilling_bucket_would_admit_twice_the_quota(clock: FakeClock) -> None:
    """What the window fixes: a full TokenBucket plus a minute's refill (the emulator's Bedrock)."""
    from agentkit.capacity.bucket import TokenBucket

    admitted = drive(TokenBucket(TPM, clock=clock), clock, random.Random(7))
    assert worst_window(admitted) > 1.9 * TPM


def test_settling_below_the_reservation_frees_room_within_the_window(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, clock=clock)
    first = bucket.try_reserve(4_000)
    assert first is not None
    clock.advance(5)
    assert bucket.try_reserve(1_000) is None  # 4,000 + 1,000 > 4,800
    assert bucket.settle(first, 300) == 3_700  # the refund
    assert bucket.available() == TPM - 300
    assert bucket.try_reserve(4_500) is not None  # at once, long before the first leaves
    assert bucket.try_reserve(1) is None


def test_wait_time_is_when_enough_of_the_oldest_reservations_leave(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, clock=clock)
    assert bucket.try_reserve(1_000) is not None  # at 0
    clock.advance(10)
    assert bucket.try_reserve(3_000) is not None  # at 10
    clock.advance(5)
    assert bucket.wait_time(800) == 0
    assert bucket.wait_time(1_500) == pytest.approx(45)  # the first leaves at 60
    assert bucket.wait_time(4_000) == pytest.approx(55)  # both must leave
    assert bucket.wait_time(TPM + 1) == math.inf
    clock.advance(44.9)
    assert bucket.try_reserve(1_500) is None
    clock.advance(0.1)  # the first reservation is exactly 60 s old: out of the window
    assert bucket.try_reserve(1_500) is not None
    assert clock.slept == []


def test_requests_per_minute_count_each_request_once(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, requests_per_minute=3, clock=clock)
    held = [bucket.try_reserve(10) for _ in range(3)]
    assert all(held)
    assert bucket.try_reserve(10) is None  # tokens to spare, no request left
    reservation = held[0]
    assert reservation is not None
    bucket.settle(reservation, 0)  # a failed call still counted as a request
    assert bucket.try_reserve(10) is None
    assert bucket.wait_time(10) == pytest.approx(60)
    clock.advance(60)
    assert bucket.try_reserve(10) is not None
    state = bucket.state()
    assert (state.requests, state.requests_per_minute) == (1, 3)


def test_over_usage_is_charged_and_later_admissions_wait_for_it(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, clock=clock)
    reservation = bucket.try_reserve(1_000)
    assert reservation is not None
    assert bucket.settle(reservation, 6_000) == -5_000
    assert bucket.available() == TPM - 6_000
    assert bucket.wait_time(100) == pytest.approx(60)


def test_state_settle_once_and_a_settlement_after_the_window(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, clock=clock)
    first = bucket.try_reserve(1_000)
    second = bucket.try_reserve(500)
    assert first is not None
    assert second is not None
    state = bucket.state()
    assert (state.level, state.capacity, state.tokens_per_minute) == (3_300, TPM, TPM)
    assert (state.outstanding, state.reservations, state.requests) == (1_500, 2, 2)
    bucket.settle(second, 100)
    with pytest.raises(ValueError, match="already settled"):
        bucket.settle(second, 100)
    clock.advance(61)  # a long call: it settles after leaving the window
    assert bucket.settle(first, 200) == 800
    assert bucket.state().level == TPM
    assert bucket.state().outstanding == 0


def test_a_clock_going_backwards_neither_expires_nor_drains(clock: FakeClock) -> None:
    bucket = WindowBucket(TPM, clock=clock)
    assert bucket.try_reserve(3_000) is not None
    clock.advance(-30)
    assert bucket.available() == 1_800
    clock.advance(89)  # 59 s after the reservation on the window's own time
    assert bucket.available() == 1_800
    clock.advance(1)
    assert bucket.available() == TPM


@pytest.mark.parametrize(("tpm", "rpm"), [(0, None), (-1, None), (float("nan"), None), (1, 0)])
def test_bad_quotas_and_token_counts_are_refused(tpm: float, rpm: float | None) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        WindowBucket(tpm, requests_per_minute=rpm)
    bucket = WindowBucket(TPM)
    with pytest.raises(ValueError, match="must not be negative"):
        bucket.try_reserve(-1)
    with pytest.raises(ValueError, match="must not be negative"):
        bucket.wait_time(float("nan"))
