"""Four worker processes sharing one admission budget on Redis admit no more than the configured
TPM in any 60-second window.

Time is a clock the processes share (a double in shared memory, advanced by the test), passed
into the window's Lua script, so the minutes are simulated: one step a second, in which each
worker (a process with its own gateway and Redis client) offers its calls against the emulator.
The load is constant overload from a cold start, two idle minutes, then bursts. What a window
"admits" is what the quota is charged for the calls admitted in it: input + output x burndown,
as Bedrock settles them.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest

from agentkit.bedrock.gateway import Gateway
from agentkit.capacity.accounting import settlement_tokens
from agentkit.capacity.burndown import default_table
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.resilience.admission import AdmissionRejected
from agentkit.resilience.redis_state import RedisRetryBudget

from .conftest import HI, PRIMARY, SONNET, fleet_config

WORKERS = 4
TPM = 4_800  # 80 tokens a second: about one call a second for the whole fleet
# Calls each worker offers per simulated second: two minutes of 4x overload from cold, two idle
# minutes, a minute of bursts (12x), a minute of overload.
SCHEDULE = [1] * 120 + [0] * 120 + [3] * 60 + [1] * 60


class SharedClock:
    """The test's clock, read by every worker process; it moves only when the test says."""

    def __init__(self, value: Synchronized[float]) -> None:
        self._value = value

    def now(self) -> float:
        return float(self._value.value)

    def sleep(self, seconds: float) -> None:
        """Workers never wait (``max_queue: 0``): time is the test's."""


def worker(
    cfg: AgentkitConfig, seed: int, now: Synchronized[float], barrier: Barrier, results: Any
) -> None:
    burndown = default_table().lookup(SONNET)
    assert burndown is not None
    clock = SharedClock(now)
    gateway = Gateway.from_config(cfg, clock=clock, rng=random.Random(seed))
    charged: dict[int, float] = defaultdict(float)
    start = clock.now()
    try:
        for offers in SCHEDULE:
            barrier.wait()  # the step starts
            for _ in range(offers):
                try:
                    usage = gateway.converse(messages=HI, max_tokens=16).usage
                except AdmissionRejected:
                    continue
                second = round(clock.now() - start)
                charged[second] += settlement_tokens(
                    usage.input_tokens, usage.output_tokens, burndown.burndown
                )
            barrier.wait()  # the step ends
    finally:
        gateway.close()
        assert isinstance(gateway.retry_budget, RedisRetryBudget)
        gateway.retry_budget.link.close()
        results.put(dict(charged))


def run_fleet(cfg: AgentkitConfig) -> dict[int, float]:
    """Tokens charged per simulated second (by the second of admission), all workers."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a process running threads
    now = ctx.Value("d", 1_000.0)
    barrier = ctx.Barrier(WORKERS + 1, timeout=60)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=worker, args=(cfg, i, now, barrier, results)) for i in range(WORKERS)
    ]
    for process in workers:
        process.start()
    charged: dict[int, float] = defaultdict(float)
    try:
        for _ in SCHEDULE:
            barrier.wait()
            barrier.wait()
            with now.get_lock():
                now.value += 1.0
        for _ in workers:
            for second, tokens in results.get(timeout=60).items():
                charged[second] += tokens
    finally:
        for process in workers:
            process.join(timeout=30)
        results.close()
        results.join_thread()
    assert [p.exitcode for p in workers] == [0] * WORKERS
    return dict(charged)


@pytest.mark.timeout(180)
def test_four_workers_admit_no_more_than_the_configured_tpm_in_any_minute(
    bedrock_emulator: Emulator, redis_url: str, prefix: str
) -> None:
    cfg = fleet_config(
        bedrock_emulator,
        redis_url,
        prefix,
        models={
            "routes": [{"model": SONNET, "region": PRIMARY}],
            "endpoints": bedrock_emulator.endpoints,
        },
        resilience={
            "timeouts": {"connect_s": 1.0, "read_s": 5.0},
            "state": {"backend": "redis", "url": redis_url, "prefix": prefix},
            "admission": {"enabled": True, "tpm": {PRIMARY: TPM}, "max_queue": 0},
        },
    )
    charged = run_fleet(cfg)

    def window(second: int) -> float:
        return sum(charged.get(s, 0.0) for s in range(second, second + 60))

    # Every window, sliding a second at a time (admissions happen on whole seconds), the first
    # minute and the bursts after the idle minutes included: the quota, within 5%.
    windows = {s: window(s) for s in range(len(SCHEDULE) - 59)}
    assert max(windows.values()) <= TPM * 1.05, max(windows.items(), key=lambda w: w[1])
    # Under overload the fleet is not starved: every window inside a phase of constant offered
    # load is used (a window straddling a burst and the phase after it is not: the burst took it).
    busy = [windows[s] for s in (*range(61), 240, 300)]
    assert min(busy) >= TPM * 0.95, busy
