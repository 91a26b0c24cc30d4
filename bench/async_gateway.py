"""N concurrent gateway calls: a thread per call (``converse``) against one event loop
(``aconverse``), measured against the emulator in the same run.

    python -m bench.async_gateway [--calls 200] [--rounds 3] [--latency-ms 200]

The emulator runs as a child process (it does not share the client's GIL) and answers each call
after ``--latency-ms``, standing in for a model's time to answer. Each round offers ``--calls``
calls at once, through the sync path (one thread per call, the way a thread-per-request server
serves them) and through the async path (one task per call on one thread), the paths taking turns
round by round (in ABBA order), so a change in the machine's load falls on both. Reported per
path: the wall time of a round (median), calls per second, CPU seconds per call in this process
(median), and the most threads the process had while the calls ran; then async / sync ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from bench._servers import control, emulator

MODEL = "us.amazon.nova-pro-v1:0"
REGION = "us-east-1"
MESSAGES = [{"role": "user", "content": [{"text": "What is our DR strategy?"}]}]


def gateway(endpoints: dict[str, str]) -> Gateway:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": endpoints,
                "routes": [{"model": MODEL, "region": REGION}],
            },
            "resilience": {"timeouts": {"connect_s": 5, "read_s": 60}},
            "limits": {"max_tokens": 64},
        }
    )
    gw = Gateway.from_config(config)
    gw.clients.warm([REGION])
    return gw


class PeakThreads:
    """The most threads this process had while a round ran (sampled every millisecond)."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, threading.active_count() - 1)  # not counting itself


def sync_round(gw: Gateway, calls: int) -> None:
    with ThreadPoolExecutor(max_workers=calls) as pool:
        answers = list(pool.map(lambda _: gw.converse(messages=MESSAGES), range(calls)))
    assert len(answers) == calls


async def async_round(gw: Gateway, calls: int) -> None:
    answers = await asyncio.gather(*(gw.aconverse(messages=MESSAGES) for _ in range(calls)))
    assert len(answers) == calls


def measure(paths: dict[str, Callable[[], None]], calls: int, rounds: int) -> dict[str, Any]:
    """Each path's figures; the paths take turns, ABBA, so a drift in load falls on both."""
    for run_round in paths.values():
        run_round()  # warm: connections, clients, first-call imports
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in paths}
    names = list(paths)
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            with PeakThreads() as threads:
                cpu, started = time.process_time(), time.perf_counter()
                paths[name]()
                wall, used = time.perf_counter() - started, time.process_time() - cpu
            samples[name].append((wall, used, threads.peak))
    return {name: _figures(taken, calls) for name, taken in samples.items()}


def _figures(samples: list[tuple[float, float, int]], calls: int) -> dict[str, Any]:
    wall = statistics.median(s[0] for s in samples)
    return {
        "wall_s": wall,
        "calls_per_s": calls / wall,
        "cpu_ms_per_call": statistics.median(s[1] for s in samples) / calls * 1000,
        "peak_threads": max(s[2] for s in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=200)
    args = parser.parse_args()
    with emulator(REGION) as emu:
        control(
            emu["control"], "PUT", "/faults", {"regions": {REGION: {"latency_ms": args.latency_ms}}}
        )
        gw = gateway(emu["endpoints"])
        loop = asyncio.new_event_loop()
        try:
            paths = {
                "sync": lambda: sync_round(gw, args.calls),
                "async": lambda: loop.run_until_complete(async_round(gw, args.calls)),
            }
            figures = measure(paths, args.calls, args.rounds)
            sync, async_ = figures["sync"], figures["async"]
            loop.run_until_complete(gw.aclose())
        finally:
            loop.close()
    print(
        f"{args.calls} concurrent calls, {args.latency_ms:g} ms emulated model latency, "
        f"median of {args.rounds} rounds, one Region (emulator in a child process)"
    )
    print(f"{'':22}{'sync (thread/call)':>20}{'async (one loop)':>18}{'async / sync':>14}")
    rows = (
        ("wall time (s)", "wall_s", "{:.3f}"),
        ("calls per second", "calls_per_s", "{:.0f}"),
        ("CPU ms per call", "cpu_ms_per_call", "{:.2f}"),
        ("peak threads", "peak_threads", "{:d}"),
    )
    for label, key, fmt in rows:
        ratio = async_[key] / sync[key] if sync[key] else float("nan")
        print(f"  {label:20}{fmt.format(sync[key]):>20}{fmt.format(async_[key]):>18}{ratio:>14.2f}")


if __name__ == "__main__":
    main()
