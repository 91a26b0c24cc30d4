"""Redis stopped mid-run: requests keep succeeding on local state, with a warning and a metric.

The Redis here is one this test starts on a free port and stops; the shared one is untouched.
"""

from __future__ import annotations

import logging
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.bedrock.gateway import Gateway
from agentkit.emulator import Emulator
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.redis_state import METRIC_FALLBACKS, RedisRetryBudget

from .conftest import HI, PRIMARY, SECONDARY, backend_missing, fleet_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of the test's own, on loopback, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            backend_missing("redis-server is not installed (Debian package redis-server)")
        self.process = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections and takes commands; nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(redis_url: str) -> Iterator[OwnRedis]:
    """Runs with the other Redis backend tests (``redis_url`` skips them when unset)."""
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fallbacks(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    counts: dict[str, int] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == METRIC_FALLBACKS:
                    for point in metric.data.data_points:
                        counts[str(point.attributes["component"])] = int(point.value)
    return counts


def test_with_redis_stopped_mid_run_requests_succeed_on_local_state(
    bedrock_emulator: Emulator, own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = fleet_config(
        bedrock_emulator,
        own_redis.url,
        "agentkit-outage:",
        resilience={
            "state": {"backend": "redis", "url": own_redis.url, "retry_after_s": 0.2},
            "admission": {
                "enabled": True,
                "tpm": dict.fromkeys(bedrock_emulator.endpoints, 100000),
            },
        },
    )
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    gateway = Gateway.from_config(
        cfg, clock=FakeClock(), rng=random.Random(1), meter_provider=meters
    )
    budget = gateway.retry_budget
    assert isinstance(budget, RedisRetryBudget)
    try:
        assert gateway.converse(messages=HI).region == PRIMARY
        assert not budget.link.degraded
        own_redis.stop()  # mid-run
        with caplog.at_level(logging.WARNING, logger="agentkit.resilience.state"):
            regions = [gateway.converse(messages=HI).region for _ in range(5)]
        assert regions == [PRIMARY] * 5  # no outage
        assert budget.link.degraded
        assert budget.link.fallbacks > 0
        warned = [r for r in caplog.records if "Redis unreachable" in r.message]
        assert len(warned) == 1  # one warning for the outage, not one per operation
        assert set(fallbacks(reader)) == {"breaker", "admission", "retry_budget"}
        # Local state works: a Region going down still opens the (local) breaker.
        bedrock_emulator.set_faults({"seed": 1, "regions": {PRIMARY: {"down": True}}})
        for _ in range(6):
            assert gateway.converse(messages=HI).region == SECONDARY
        assert gateway.breaker_states()[gateway.routes[0].name] == "open"
        # Redis back: after the back-off, state is shared again.
        own_redis.start()
        time.sleep(0.25)
        bedrock_emulator.set_faults({"seed": 1, "regions": {}})
        gateway.converse(messages=HI)
        assert not budget.link.degraded
    finally:
        gateway.close()
        budget.link.close()
        meters.shutdown()


def test_with_nothing_listening_from_the_start_requests_succeed(
    bedrock_emulator: Emulator,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    cfg = fleet_config(bedrock_emulator, url, "agentkit-nothing:")
    gateway = Gateway.from_config(cfg, clock=FakeClock(), rng=random.Random(1))
    budget = gateway.retry_budget
    assert isinstance(budget, RedisRetryBudget)
    try:
        assert [gateway.converse(messages=HI).region for _ in range(3)] == [PRIMARY] * 3
        assert budget.link.degraded
        assert budget.link.outages == 1  # tried once, then the back-off: no retry per call
    finally:
        gateway.close()
        budget.link.close()


def test_a_hung_redis_costs_one_timeout_per_back_off_not_one_per_call(
    bedrock_emulator: Emulator, own_redis: OwnRedis
) -> None:
    cfg = fleet_config(
        bedrock_emulator,
        own_redis.url,
        "agentkit-hung:",
        resilience={"state": {"backend": "redis", "url": own_redis.url, "retry_after_s": 600}},
    )
    gateway = Gateway.from_config(cfg, clock=FakeClock(), rng=random.Random(1))
    budget = gateway.retry_budget
    assert isinstance(budget, RedisRetryBudget)
    try:
        assert gateway.converse(messages=HI).region == PRIMARY
        assert budget.link.outages == 0
        own_redis.pause()  # hung, not refused: the first operation waits out its timeout
        regions = [gateway.converse(messages=HI).region for _ in range(5)]
        assert regions == [PRIMARY] * 5  # no outage
        assert budget.link.degraded
        assert budget.link.outages == 1  # one timeout paid, then local state for the back-off
        assert budget.link.fallbacks > 5  # every state operation of the five calls, locally
    finally:
        own_redis.resume()
        gateway.close()
        budget.link.close()
