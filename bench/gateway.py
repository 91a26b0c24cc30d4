"""Gateway cost, measured against the emulator in one run.

    python -m bench.gateway [--calls 1000]

1. Healthy path: median gateway ``converse`` / median raw boto3 ``converse`` (target <= 1.10).
2. Failover with the primary refused: gateway minus a direct call to the secondary
   (target <= 5 ms), and once the primary's breaker is open (target <= 1 ms).
3. Primary black-holed: time to the first answer vs the attempt timeout plus the secondary.
4. Throttle storm on the primary: every request answered; the primary sees at most fail_max
   plus one half-open probe per reset window.
5. First failover from a cold start, primary refused: a new gateway's first answer vs a new raw
   boto3 client's first answer from the secondary (target <= 2x).
6. Primary black-holed, 1 s attempt timeout: ten sequential calls in all (target < 3.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from agentkit.emulator.clients import emulator_client
from bench._servers import control, emulator

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
MESSAGES = [{"role": "user", "content": [{"text": "What is our DR strategy?"}]}]


def median_ms(fn: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def gateway(endpoints: dict[str, str], **resilience: Any) -> Gateway:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "routes": [
                    {"model": MODEL, "region": PRIMARY},
                    {"model": MODEL, "region": SECONDARY},
                ],
                "endpoints": endpoints,
            },
            "resilience": {"timeouts": {"connect_s": 1.0, "read_s": 0.5}, **resilience},
        }
    )
    return Gateway.from_config(config)


def healthy(endpoints: dict[str, str], calls: int, rounds: int = 5) -> tuple[float, float]:
    raw = emulator_client(endpoints[PRIMARY], PRIMARY)
    gw = gateway(endpoints)
    raw_times: list[float] = []
    gw_times: list[float] = []
    median_ms(lambda: raw.converse(modelId=MODEL, messages=MESSAGES), 100)
    median_ms(lambda: gw.converse(messages=MESSAGES), 100)
    for _ in range(rounds):  # alternate, so noise hits both alike
        raw_times.append(
            median_ms(lambda: raw.converse(modelId=MODEL, messages=MESSAGES), calls // rounds)
        )
        gw_times.append(median_ms(lambda: gw.converse(messages=MESSAGES), calls // rounds))
    raw.close()
    gw.close()
    return statistics.median(raw_times), statistics.median(gw_times)


def failover(endpoints: dict[str, str], control_url: str, calls: int) -> tuple[float, float, float]:
    control(control_url, "PUT", "/faults", {"regions": {PRIMARY: {"down": True}}})
    direct = emulator_client(endpoints[SECONDARY], SECONDARY)
    direct_ms = median_ms(lambda: direct.converse(modelId=MODEL, messages=MESSAGES), calls)
    refused = []
    for _ in range(calls):  # a fresh gateway each time: its breaker is closed, the refusal is paid
        gw = gateway(endpoints, breaker={"fail_max": 1000})
        gw.converse(messages=MESSAGES)  # warm the secondary's connection
        start = time.perf_counter()
        gw.converse(messages=MESSAGES)
        refused.append((time.perf_counter() - start) * 1000)
        gw.close()
    gw = gateway(endpoints, breaker={"fail_max": 1, "reset_timeout_s": 3600})
    gw.converse(messages=MESSAGES)  # trips the breaker
    open_ms = median_ms(lambda: gw.converse(messages=MESSAGES), calls)
    gw.close()
    direct.close()
    control(control_url, "PUT", "/faults", {})
    return direct_ms, statistics.median(refused), open_ms


def black_hole(endpoints: dict[str, str], control_url: str) -> tuple[float, float]:
    control(control_url, "PUT", "/faults", {"regions": {PRIMARY: {"blackhole": True}}})
    times = []
    for _ in range(3):
        gw = gateway(endpoints)
        gw.clients.client(PRIMARY), gw.clients.client(SECONDARY)  # client creation is not failover
        start = time.perf_counter()
        assert gw.converse(messages=MESSAGES).region == SECONDARY
        times.append(time.perf_counter() - start)
        gw.close()
    control(control_url, "PUT", "/faults", {})
    return statistics.median(times) * 1000, 0.5 * 1000


def cold_failover(
    endpoints: dict[str, str], control_url: str, rounds: int = 7
) -> tuple[float, float]:
    control(control_url, "PUT", "/faults", {"regions": {PRIMARY: {"down": True}}})
    raw, gw_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        client = emulator_client(endpoints[SECONDARY], SECONDARY)
        client.converse(modelId=MODEL, messages=MESSAGES)
        raw.append(time.perf_counter() - start)
        client.close()
        start = time.perf_counter()
        gw = gateway(endpoints)
        assert gw.converse(messages=MESSAGES).region == SECONDARY
        gw_times.append(time.perf_counter() - start)
        gw.close()
    control(control_url, "PUT", "/faults", {})
    return statistics.median(raw) * 1000, statistics.median(gw_times) * 1000


def black_hole_run(endpoints: dict[str, str], control_url: str, calls: int = 10) -> float:
    control(control_url, "PUT", "/faults", {"regions": {PRIMARY: {"blackhole": True}}})
    gw = gateway(endpoints, timeouts={"connect_s": 1.0, "read_s": 1.0})
    start = time.perf_counter()
    for _ in range(calls):
        assert gw.converse(messages=MESSAGES).region == SECONDARY
    total = time.perf_counter() - start
    gw.close()
    control(control_url, "PUT", "/faults", {})
    return total


def throttle_storm(
    endpoints: dict[str, str], control_url: str, requests: int
) -> tuple[int, int, int]:
    control(
        control_url,
        "PUT",
        "/faults",
        {"regions": {PRIMARY: {"errors": [{"code": "ThrottlingException"}]}}},
    )
    control(control_url, "DELETE", "/calls")
    gw = gateway(endpoints, breaker={"fail_max": 5, "reset_timeout_s": 30})
    answered = sum(1 for _ in range(requests) if gw.converse(messages=MESSAGES).text)
    gw.close()
    calls = control(control_url, "GET", "/calls")["calls"]
    control(control_url, "PUT", "/faults", {})
    return answered, sum(1 for c in calls if c["region"] == PRIMARY), len(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with emulator(f"{PRIMARY},{SECONDARY}") as emu:
        endpoints, control_url = emu["endpoints"], emu["control"]
        raw_ms, gw_ms = healthy(endpoints, args.calls)
        direct_ms, refused_ms, open_ms = failover(endpoints, control_url, max(20, args.calls // 20))
        hole_ms, timeout_ms = black_hole(endpoints, control_url)
        answered, primary_calls, total_calls = throttle_storm(endpoints, control_url, 200)
        cold_raw_ms, cold_gw_ms = cold_failover(endpoints, control_url)
        hole_total_s = black_hole_run(endpoints, control_url)
    print(f"healthy path, median of {args.calls}:")
    print(f"  raw boto3 converse      {raw_ms:8.3f} ms")
    print(f"  gateway converse        {gw_ms:8.3f} ms")
    print(f"  ratio                   {gw_ms / raw_ms:8.3f}x   (target <= 1.10x)")
    print("failover, primary refused:")
    print(f"  direct to secondary     {direct_ms:8.3f} ms")
    closed_extra, open_extra = refused_ms - direct_ms, open_ms - direct_ms
    print(f"  gateway, breaker closed {refused_ms:8.3f} ms   (+{closed_extra:.3f} ms; target <= 5)")
    print(f"  gateway, breaker open   {open_ms:8.3f} ms   (+{open_extra:.3f} ms; target <= 1)")
    print("failover, primary black-holed (attempt timeout 500 ms):")
    print(
        f"  first answer            {hole_ms:8.1f} ms   (target <= {timeout_ms:.0f} ms + secondary)"
    )
    print("throttle storm on the primary, 200 requests, fail_max 5:")
    print(f"  answered                {answered:8d} / 200")
    print(
        f"  primary saw             {primary_calls:8d} calls  (target <= 5 + probes; window 30 s)"
    )
    print(f"  emulator saw in all     {total_calls:8d} calls")
    print("first failover from a cold start, primary refused (median of 7):")
    print(f"  raw boto3, new client   {cold_raw_ms:8.1f} ms")
    print(f"  gateway, new gateway    {cold_gw_ms:8.1f} ms")
    print(f"  ratio                   {cold_gw_ms / cold_raw_ms:8.2f}x   (target <= 2x)")
    print("primary black-holed, attempt timeout 1 s, ten sequential calls:")
    print(f"  total                   {hole_total_s:8.2f} s    (target < 3.5 s)")


if __name__ == "__main__":
    main()
