"""Breakers and the retry budget shared on Redis: one worker's lesson is the fleet's."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from agentkit.bedrock.gateway import Gateway
from agentkit.config import StateConfig
from agentkit.emulator import Emulator
from agentkit.errors import CircuitOpen, Unavailable
from agentkit.resilience.breaker import BreakerPolicy, RouteBreaker
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.redis_state import RedisBreakerStore, RedisLink, RedisRetryBudget

from .conftest import HI, PRIMARY, SECONDARY, calls_to, fleet_config


@pytest.fixture
def links(redis_url: str, prefix: str) -> Iterator[list[RedisLink]]:
    """Two links with clients of their own: two workers, as Redis sees them."""
    made = [RedisLink.from_config(StateConfig(backend="redis", url=redis_url, prefix=prefix))]
    made.append(RedisLink.from_config(StateConfig(backend="redis", url=redis_url, prefix=prefix)))
    yield made
    for link in made:
        link.close()


def close(*gateways: Gateway) -> None:
    for gateway in gateways:
        gateway.close()
        assert isinstance(gateway.retry_budget, RedisRetryBudget)
        gateway.retry_budget.link.close()


def test_after_one_worker_sees_a_black_hole_the_other_falls_back_without_a_timeout(
    bedrock_emulator: Emulator, redis_url: str, prefix: str
) -> None:
    cfg = fleet_config(bedrock_emulator, redis_url, prefix)
    clock = FakeClock()
    first = Gateway.from_config(cfg, clock=clock, rng=random.Random(1))
    second = Gateway.from_config(cfg, clock=clock, rng=random.Random(2))
    try:
        assert second.converse(messages=HI).region == PRIMARY  # healthy: both use the primary
        bedrock_emulator.set_faults({"seed": 1, "regions": {PRIMARY: {"blackhole": True}}})
        assert [first.converse(messages=HI).region for _ in range(2)] == [SECONDARY] * 2
        assert calls_to(bedrock_emulator, PRIMARY) == 1 + 2  # two read timeouts opened it
        response = second.converse(messages=HI)
        assert response.region == SECONDARY
        assert [(a.region, a.error_code) for a in response.attempts] == [
            (PRIMARY, "CircuitOpen"),
            (SECONDARY, None),
        ]
        assert calls_to(bedrock_emulator, PRIMARY) == 3  # never tried it: no timeout paid
        assert second.breaker_states()[second.routes[0].name] == "open"
    finally:
        close(first, second)


def test_exactly_one_worker_probes_a_half_open_route(links: list[RedisLink]) -> None:
    clock = FakeClock()
    policy = BreakerPolicy(fail_max=2, reset_timeout_s=30)
    a, b = (RouteBreaker("r", policy, clock, RedisBreakerStore(link, clock)) for link in links)
    for _ in range(2):
        a.admit()
        a.record_failure(Unavailable("x"))
    assert (a.state, b.state) == ("open", "open")
    with pytest.raises(CircuitOpen):
        b.admit()  # opened by the other worker: out at once
    clock.advance(31)
    a.admit()  # the probe
    with pytest.raises(CircuitOpen):
        b.admit()  # the fleet's probe is taken
    a.record_success()
    assert (a.state, b.state) == ("closed", "closed")
    b.admit()


def test_a_probe_held_by_a_dead_worker_expires(redis_url: str, prefix: str) -> None:
    cfg = StateConfig(backend="redis", url=redis_url, prefix=prefix)
    links = [RedisLink.from_config(cfg), RedisLink.from_config(cfg)]
    try:
        # Two seconds: long enough that the second worker's first try always finds it held.
        gates = [RedisBreakerStore(link, probe_ttl_s=2.0).probe_gate("r") for link in links]
        assert gates[0].try_acquire()
        assert not gates[1].try_acquire()
        # The holder died without releasing: Redis expires the probe, and the other worker's
        # next tries take it (polled, with a generous bound, not a sleep of a guessed length).
        deadline = time.monotonic() + 30
        while not gates[1].try_acquire():
            assert time.monotonic() < deadline, "the dead worker's probe never expired"
            time.sleep(0.05)
        gates[0].release()  # a late release never frees another worker's probe
        assert not gates[0].try_acquire()
        gates[1].release()
        assert gates[0].try_acquire()
    finally:
        for link in links:
            link.close()


def test_the_retry_budget_is_one_balance_for_the_fleet(links: list[RedisLink]) -> None:
    a, b = (RedisRetryBudget(link, ratio=0.5, initial=1.0, cap=2.0) for link in links)
    assert a.try_spend()  # the one retry the fleet starts with
    assert not b.try_spend()
    a.on_call()
    b.on_call()  # two calls anywhere: one more retry, anywhere
    assert b.try_spend()
    assert not a.try_spend()
    assert (a.denied, b.denied) == (1, 1)


def test_every_key_is_under_the_prefix_and_expires(
    bedrock_emulator: Emulator, redis_url: str, prefix: str
) -> None:
    cfg = fleet_config(
        bedrock_emulator,
        redis_url,
        prefix,
        resilience={
            "admission": {"enabled": True, "tpm": dict.fromkeys(bedrock_emulator.endpoints, 100000)}
        },
    )
    gateway = Gateway.from_config(cfg, clock=FakeClock())
    try:
        bedrock_emulator.set_faults({"seed": 1, "regions": {PRIMARY: {"down": True}}})
        assert gateway.converse(messages=HI).region == SECONDARY
    finally:
        close(gateway)
    client = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(k.decode() for k in client.scan_iter(match=prefix + "*"))
        assert {k.removeprefix(prefix).split(":")[0] for k in keys} == {
            "breaker",
            "bucket",
            "retry_budget",
        }
        assert all(0 < client.pttl(k) <= 86_400_000 for k in keys)
    finally:
        client.close()


WORKER = """
import json, sys
from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig

config = AgentkitConfig.model_validate_json(sys.argv[1])
gateway = Gateway.from_config(config)  # production clocks: wall time on Redis
try:
    for _ in range(int(sys.argv[2])):
        r = gateway.converse(messages=[{"role": "user", "content": [{"text": "hi"}]}])
        print(json.dumps([r.region, [[a.region, a.error_code] for a in r.attempts]]))
finally:
    gateway.close()
"""


def worker(cfg_json: str, calls: int) -> list[Any]:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, cfg_json, str(calls)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_two_worker_processes_share_what_one_learned(
    bedrock_emulator: Emulator, redis_url: str, prefix: str
) -> None:
    cfg = fleet_config(bedrock_emulator, redis_url, prefix).model_dump_json()
    bedrock_emulator.set_faults({"seed": 1, "regions": {PRIMARY: {"blackhole": True}}})
    first = worker(cfg, 2)  # two read timeouts: the slow-call rule opens the primary
    assert [region for region, _ in first] == [SECONDARY, SECONDARY]
    second = worker(cfg, 1)  # a process that never saw the black hole
    assert second == [[SECONDARY, [[PRIMARY, "CircuitOpen"], [SECONDARY, None]]]]
    assert calls_to(bedrock_emulator, PRIMARY) == 2
