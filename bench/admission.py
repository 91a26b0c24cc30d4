"""Admission control under a throttle storm, measured against the emulator in one run.

    python -m bench.admission [--requests 400] [--threads 8]

The primary Region's quota (5,000 tokens a minute, Claude 5x burndown) is far below the offered
load; the secondary has plenty. The same load runs twice through the gateway: without admission
control (the primary answers 429 and the gateway retries and falls back), and with it (the
gateway's own bucket sends calls to the secondary before the primary throttles). Target: at least
90% fewer 429s with admission control, and every request answered.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from bench._servers import control, emulator

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
PRIMARY_TPM, SECONDARY_TPM = 5_000, 10_000_000
MESSAGES = [{"role": "user", "content": [{"text": "What is our DR strategy?"}]}]


def gateway(endpoints: dict[str, str], admission: bool) -> Gateway:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": endpoints,
                "routes": [
                    {"model": MODEL, "region": PRIMARY},
                    {"model": MODEL, "region": SECONDARY},
                ],
            },
            "resilience": {
                "admission": {
                    "enabled": admission,
                    "max_wait_s": 5,
                    "tpm": {PRIMARY: PRIMARY_TPM, SECONDARY: SECONDARY_TPM},
                }
            },
            "limits": {"max_tokens": 256},
        }
    )
    return Gateway.from_config(config)


def storm(
    endpoints: dict[str, str], control_url: str, admission: bool, requests: int, threads: int
) -> dict[str, Any]:
    plan = {
        "regions": {
            PRIMARY: {"quota": {"tpm": PRIMARY_TPM, "burndown": 5}},
            SECONDARY: {"quota": {"tpm": SECONDARY_TPM, "burndown": 5}},
        }
    }
    control(control_url, "PUT", "/faults", plan)  # a new plan: fresh, full buckets
    control(control_url, "DELETE", "/calls")
    gw = gateway(endpoints, admission)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_thread = requests // threads

    def work() -> None:
        for _ in range(per_thread):
            start = time.perf_counter()
            try:
                gw.converse(messages=MESSAGES)
            except Exception as error:  # counted, reported
                with lock:
                    failures.append(type(error).__name__)
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    gw.close()
    calls = control(control_url, "GET", "/calls")["calls"]
    latencies.sort()
    return {
        "answered": len(latencies),
        "offered": per_thread * threads,
        "throttled": sum(1 for c in calls if c["status"] == 429),
        "primary_answers": sum(1 for c in calls if c["region"] == PRIMARY and c["status"] == 200),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with emulator(f"{PRIMARY},{SECONDARY}") as emu:
        without = storm(emu["endpoints"], emu["control"], False, args.requests, args.threads)
        with_ = storm(emu["endpoints"], emu["control"], True, args.requests, args.threads)
    print(
        f"throttle storm: {args.requests} requests, {args.threads} threads, primary quota "
        f"{PRIMARY_TPM} TPM (5x burndown), max_tokens 256"
    )
    print(f"{'':24}{'without':>12}{'with admission':>16}")
    for key in ("answered", "throttled", "primary_answers"):
        print(f"  {key:22}{without[key]:>12}{with_[key]:>16}")
    for key in ("p50_ms", "p99_ms"):
        print(f"  {key:22}{without[key]:>12.2f}{with_[key]:>16.2f}")
    fewer = 1 - with_["throttled"] / without["throttled"] if without["throttled"] else float("nan")
    print(f"  429s avoided          {fewer:>12.1%}   (target >= 90%, every request answered)")
    if without["failures"] or with_["failures"]:
        print(f"  failures: without {without['failures'][:5]}, with {with_['failures'][:5]}")


if __name__ == "__main__":
    main()
