"""Four workers sharing one admission budget on Redis admit no more than the configured TPM.

Time is a shared :class:`FakeClock`, passed into the bucket's Lua script, so the minute is
simulated: one step a second, in which each worker (a thread with a gateway and a Redis client of
its own) tries one call against the emulator. What a minute "admits" is what the quota is charged
for the calls admitted in it: input + output x burndown, as Bedrock settles them.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict

import pytest

from agentkit.bedrock.gateway import Gateway
from agentkit.capacity.accounting import settlement_tokens
from agentkit.capacity.burndown import default_table
from agentkit.emulator import Emulator
from agentkit.resilience.admission import AdmissionRejected
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.redis_state import RedisRetryBudget

from .conftest import HI, PRIMARY, SONNET, fleet_config

WORKERS = 4
MINUTES = 3
TPM = 4_800  # 80 tokens a second: about one call a second for the whole fleet


def run_fleet(gateways: list[Gateway], clock: FakeClock) -> dict[int, float]:
    """Tokens charged per simulated second (by the second of admission)."""
    burndown = default_table().lookup(SONNET)
    assert burndown is not None
    charged: dict[int, float] = defaultdict(float)
    lock = threading.Lock()
    start = clock.now()
    barrier = threading.Barrier(WORKERS + 1)

    def worker(gateway: Gateway) -> None:
        for _ in range(MINUTES * 60):
            barrier.wait()  # the step starts
            second = int(clock.now() - start)
            try:
                usage = gateway.converse(messages=HI, max_tokens=16).usage
            except AdmissionRejected:
                pass
            else:
                cost = settlement_tokens(usage.input_tokens, usage.output_tokens, burndown.burndown)
                with lock:
                    charged[second] += cost
            barrier.wait()  # the step ends

    threads = [threading.Thread(target=worker, args=(g,)) for g in gateways]
    for thread in threads:
        thread.start()
    for _ in range(MINUTES * 60):
        barrier.wait()
        barrier.wait()
        clock.advance(1.0)
    for thread in threads:
        thread.join()
    return dict(charged)


@pytest.mark.timeout(120)
def test_four_workers_admit_no_more_than_the_configured_tpm(
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
    clock = FakeClock()
    gateways = [Gateway.from_config(cfg, clock=clock, rng=random.Random(i)) for i in range(WORKERS)]
    try:
        charged = run_fleet(gateways, clock)
    finally:
        for gateway in gateways:
            gateway.close()
            assert isinstance(gateway.retry_budget, RedisRetryBudget)
            gateway.retry_budget.link.close()

    def minute_from(second: int) -> float:
        return sum(charged.get(s, 0.0) for s in range(second, second + 60))

    # The first minute starts with a full bucket (a minute's quota, as on Bedrock) and refills.
    assert minute_from(0) <= 2 * TPM * 1.05
    # After that, any minute: the quota, within 5%, and used (the fleet is not starved either).
    later = [minute_from(s) for s in range(60, (MINUTES - 1) * 60 + 1)]
    assert max(later) <= TPM * 1.05, later
    assert min(later) >= TPM * 0.95, later
