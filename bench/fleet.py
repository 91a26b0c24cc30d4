"""A fleet of workers sharing resilience state on Redis, beside the same workers on local state.

    python -m bench.fleet [--workers 4] [--minutes 2] [--idle 2] [--burst 3] [--tpm 4800]
                          [--calls 300] [--redis redis://127.0.0.1:6379/0]

1. Admission: ``--workers`` gateways (threads, each with its own Redis client) offer calls
   against one route whose quota is ``--tpm``, on a simulated clock (a FakeClock passed into the
   window script): one call a second each for ``--minutes`` from a cold start, nothing for
   ``--idle`` minutes, ``--burst`` calls a second each for a minute, one a second for a minute.
   Reported: the first minute, the minute the burst starts, and the most any 60-second window
   admitted, sliding a second at a time over the whole run (tokens charged as Bedrock settles
   them: input + output x burndown), with memory state (each worker has its own window: the fleet
   overshoots) and with Redis (one window: the fleet stays at the quota). Target: any window
   within 5% of the quota on Redis.
2. Overhead: ``--calls`` sequential calls through one gateway on the real clock, with memory
   state and with Redis state (breaker, bucket and retry budget on Redis), p50 and p99.

Keys go under a random prefix and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

from agentkit.bedrock.gateway import Gateway
from agentkit.capacity.accounting import settlement_tokens
from agentkit.capacity.burndown import default_table
from agentkit.config import AgentkitConfig
from agentkit.resilience.admission import AdmissionRejected
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.redis_state import RedisRetryBudget
from bench._servers import emulator

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
REGION = "us-east-1"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def config(endpoints: dict[str, str], backend: str, url: str, prefix: str, tpm: int) -> Any:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": endpoints,
                "routes": [{"model": MODEL, "region": REGION}],
            },
            "resilience": {
                "timeouts": {"connect_s": 1.0, "read_s": 5.0},
                "state": {"backend": backend, "url": url, "prefix": prefix},
                "admission": {"enabled": True, "tpm": {REGION: tpm}, "max_queue": 0},
            },
            "limits": {"max_tokens": 16},
        }
    )


def close(gateways: list[Gateway]) -> None:
    for gateway in gateways:
        gateway.close()
        if isinstance(gateway.retry_budget, RedisRetryBudget):
            gateway.retry_budget.link.close()


def schedule(minutes: int, idle: int, burst: int) -> list[int]:
    """Calls each worker offers per simulated second."""
    return [1] * 60 * minutes + [0] * 60 * idle + [burst] * 60 + [1] * 60


def admitted(cfg: AgentkitConfig, workers: int, offers: list[int]) -> dict[int, float]:
    """Tokens charged per simulated second of admission, for ``workers`` gateways."""
    burndown = default_table().lookup(MODEL)
    assert burndown is not None
    clock = FakeClock()
    gateways = [Gateway.from_config(cfg, clock=clock, rng=random.Random(i)) for i in range(workers)]
    charged: dict[int, float] = defaultdict(float)
    lock = threading.Lock()
    barrier = threading.Barrier(workers + 1)
    start = clock.now()

    def work(gateway: Gateway) -> None:
        for calls in offers:
            barrier.wait()
            second = int(clock.now() - start)
            for _ in range(calls):
                try:
                    usage = gateway.converse(messages=MESSAGES).usage
                except AdmissionRejected:
                    continue
                cost = settlement_tokens(usage.input_tokens, usage.output_tokens, burndown.burndown)
                with lock:
                    charged[second] += cost
            barrier.wait()

    threads = [threading.Thread(target=work, args=(g,)) for g in gateways]
    for thread in threads:
        thread.start()
    try:
        for _ in offers:
            barrier.wait()
            barrier.wait()
            clock.advance(1.0)
    finally:
        for thread in threads:
            thread.join()
        close(gateways)
    return dict(charged)


def windows(charged: dict[int, float], seconds: int, burst_at: int) -> dict[str, float]:
    """The first minute, the minute from the burst, and the most any 60-second window admitted
    (admissions happen on whole seconds, so sliding a second at a time sees every window)."""

    def window(second: int) -> float:
        return sum(charged.get(s, 0.0) for s in range(second, second + 60))

    worst = max(window(s) for s in range(seconds - 59))
    return {"first": window(0), "burst": window(burst_at), "worst": worst}


def overhead(cfg: AgentkitConfig, calls: int) -> tuple[float, float]:
    gateway = Gateway.from_config(cfg)
    latencies = []
    try:
        gateway.converse(messages=MESSAGES)  # warm
        for _ in range(calls):
            started = time.perf_counter()
            gateway.converse(messages=MESSAGES)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        close([gateway])
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


def cleanup(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--idle", type=int, default=2)
    parser.add_argument("--burst", type=int, default=3)
    parser.add_argument("--tpm", type=int, default=4_800)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"agentkit-bench-{uuid.uuid4().hex[:8]}:"
    results: dict[str, dict[str, float]] = {}
    offers = schedule(args.minutes, args.idle, args.burst)
    burst_at = 60 * (args.minutes + args.idle)
    try:
        with emulator(REGION) as emu:
            for backend in ("memory", "redis"):
                # A new prefix per run: a fresh, empty shared window.
                cfg = config(emu["endpoints"], backend, args.redis, f"{prefix}{backend}:", args.tpm)
                charged = admitted(cfg, args.workers, offers)
                roomy = config(  # the overhead run measures state round trips, not the quota
                    emu["endpoints"], backend, args.redis, f"{prefix}{backend}-x:", 100_000_000
                )
                p50, p99 = overhead(roomy, args.calls)
                results[backend] = {
                    **windows(charged, len(offers), burst_at),
                    "p50": p50,
                    "p99": p99,
                }
    finally:
        cleanup(args.redis, prefix)
    print(
        f"fleet: {args.workers} workers, one route at {args.tpm} TPM (5x burndown), simulated: "
        f"{args.minutes} min of one call a second per worker from cold, {args.idle} min idle, "
        f"1 min of {args.burst} calls a second per worker, 1 min of one"
    )
    print(f"{'':34}{'memory':>10}{'redis':>10}")
    rows = [
        ("first minute, tokens", "first", "{:>10.0f}"),
        ("minute from the burst, tokens", "burst", "{:>10.0f}"),
        ("worst 60 s window, tokens", "worst", "{:>10.0f}"),
        ("p50_ms per call", "p50", "{:>10.2f}"),
        ("p99_ms per call", "p99", "{:>10.2f}"),
    ]
    for label, key, fmt in rows:
        values = "".join(fmt.format(results[b][key]) for b in ("memory", "redis"))
        print(f"  {label:<32}{values}")
    for backend in ("memory", "redis"):
        ratio = results[backend]["worst"] / args.tpm
        print(f"  {backend}: worst 60 s window = {ratio:.3f} x the configured TPM")
    print("  target: redis <= 1.05 x the configured TPM in any 60 s window")


if __name__ == "__main__":
    main()
