"""The fleet's admission window on the real Redis: the same guarantee as the memory bucket.

Time is a :class:`FakeClock` passed into the Lua script, so idle minutes cost nothing and every
60-second window, sliding, is checked.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest
import redis

from agentkit.capacity.bucket import TokenBucket, WindowBucket
from agentkit.config import StateConfig
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.redis_state import RedisLink, RedisWindowBucket
from tests.capacity.windows import drive, worst_window

TPM = 4_800
ROUTE = "model@us-east-1"


@pytest.fixture
def link(redis_url: str, prefix: str) -> Iterator[RedisLink]:
    link = RedisLink.from_config(StateConfig(backend="redis", url=redis_url, prefix=prefix))
    yield link
    link.close()


def test_no_60_second_window_admits_more_than_the_quota_even_after_idling(
    link: RedisLink,
) -> None:
    clock = FakeClock()
    start = clock.now()
    admitted = drive(RedisWindowBucket(link, ROUTE, TPM, clock=clock), clock, random.Random(7))
    assert worst_window(admitted) <= TPM * 1.05
    assert worst_window(admitted) <= TPM  # in fact exactly
    assert sum(a.tokens for a in admitted if a.at < start + 60) >= 0.95 * TPM  # not starved
    # The same load on the old refilling bucket: about twice the quota in a window.
    clock = FakeClock()
    assert worst_window(drive(TokenBucket(TPM, clock=clock), clock, random.Random(7))) > 1.9 * TPM


def test_memory_and_redis_admit_the_same_calls(link: RedisLink) -> None:
    """One algorithm, two homes: the same load is admitted call for call."""
    memory_clock, redis_clock = FakeClock(), FakeClock()
    memory = drive(WindowBucket(TPM, clock=memory_clock), memory_clock, random.Random(3))
    shared = drive(
        RedisWindowBucket(link, ROUTE, TPM, clock=redis_clock), redis_clock, random.Random(3)
    )
    assert shared == memory


def test_settling_below_the_reservation_frees_room_within_the_window(link: RedisLink) -> None:
    clock = FakeClock()
    bucket = RedisWindowBucket(link, ROUTE, TPM, clock=clock)
    other = RedisWindowBucket(link, ROUTE, TPM, clock=clock)  # another worker
    first = bucket.try_reserve(4_000)
    assert first is not None
    clock.advance(5)
    assert other.try_reserve(1_000) is None
    assert other.wait_time(1_000) == pytest.approx(55)
    assert bucket.settle(first, 300) == 3_700
    assert other.available() == TPM - 300
    assert other.wait_time(4_500) == 0
    assert other.try_reserve(4_500) is not None  # at once, long before the first leaves
    assert other.try_reserve(1) is None
    state = other.state()
    assert (state.level, state.outstanding, state.reservations, state.requests) == (0, 4_500, 1, 2)


def test_wait_time_and_the_window_edge(link: RedisLink) -> None:
    clock = FakeClock()
    bucket = RedisWindowBucket(link, ROUTE, TPM, clock=clock)
    assert bucket.try_reserve(1_000) is not None
    clock.advance(10)
    assert bucket.try_reserve(3_000) is not None
    clock.advance(5)
    assert bucket.wait_time(800) == 0
    assert bucket.wait_time(1_500) == pytest.approx(45)
    assert bucket.wait_time(4_000) == pytest.approx(55)
    assert bucket.wait_time(TPM + 1) == math.inf
    clock.advance(44.9)
    assert bucket.try_reserve(1_500) is None
    clock.advance(0.1)
    assert bucket.try_reserve(1_500) is not None


def test_requests_per_minute_are_shared_by_the_fleet(link: RedisLink) -> None:
    clock = FakeClock()
    workers = [
        RedisWindowBucket(link, ROUTE, TPM, requests_per_minute=3, clock=clock) for _ in range(2)
    ]
    held = [workers[i % 2].try_reserve(10) for i in range(3)]
    assert all(held)
    assert workers[0].try_reserve(10) is None
    assert workers[1].wait_time(10) == pytest.approx(60)
    clock.advance(60)
    assert workers[1].try_reserve(10) is not None
    assert workers[0].state().requests == 1


def test_a_clock_behind_uses_the_windows_time(link: RedisLink) -> None:
    ahead, behind = FakeClock(1_000.0), FakeClock(970.0)
    assert RedisWindowBucket(link, ROUTE, TPM, clock=ahead).try_reserve(4_000) is not None
    late = RedisWindowBucket(link, ROUTE, TPM, clock=behind)
    behind.advance(75)  # 45 s after the reservation on the window's time
    assert late.try_reserve(1_000) is None


def test_keys_are_under_the_prefix_in_one_slot_and_expire(
    link: RedisLink, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    bucket = RedisWindowBucket(link, ROUTE, TPM, clock=clock)
    reservation = bucket.try_reserve(100)
    assert reservation is not None
    bucket.settle(reservation, 10)
    client = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(k.decode() for k in client.scan_iter(match=prefix + "*"))
        assert keys == [f"{prefix}bucket:{{{ROUTE}}}", f"{prefix}bucket:{{{ROUTE}}}:log"]
        assert all(0 < client.pttl(k) <= 86_400_000 for k in keys)
        clock.advance(60)
        bucket.state()  # the entry leaves the log and the hash
        assert client.zcard(keys[1]) == 0
        assert sorted(k.decode() for k in client.hkeys(keys[0])) == [
            "now",
            "outstanding",
            "requests",
            "reservations",
            "seq",
            "sum",
        ]
    finally:
        client.close()
