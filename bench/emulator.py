"""Emulator speed: boto3 ``converse`` round trip against the emulator vs a bare stdlib server.

    python -m bench.emulator [--calls 2000]

Both servers run as child processes and are measured in the same run, alternating rounds, so
a noisy machine affects both alike. Target: median round trip within 1.5x of the stdlib echo.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from agentkit.emulator.clients import emulator_client
from bench._servers import echo_server, emulator

MESSAGES = [{"role": "user", "content": [{"text": "What is our DR strategy?"}]}]
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def round_trips(client: Any, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        client.converse(modelId=MODEL, messages=MESSAGES)
        times.append(time.perf_counter() - start)
    return times


def throughput(endpoint: str, threads: int, seconds: float) -> float:
    clients = [emulator_client(endpoint, "us-east-1") for _ in range(threads)]
    for client in clients:
        client.converse(modelId=MODEL, messages=MESSAGES)
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            clients[i].converse(modelId=MODEL, messages=MESSAGES)
            done[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return sum(done) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="round trips per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput window")
    args = parser.parse_args()
    with echo_server() as echo, emulator() as emu:
        base = emulator_client(echo["endpoint"], "us-east-1")
        ours = emulator_client(emu["endpoints"]["us-east-1"], "us-east-1")
        round_trips(base, 200)
        round_trips(ours, 200)  # warm both
        echo_times: list[float] = []
        emu_times: list[float] = []
        per_round = max(1, args.calls // args.rounds)
        for _ in range(args.rounds):
            echo_times += round_trips(base, per_round)
            emu_times += round_trips(ours, per_round)
        echo_median = statistics.median(echo_times) * 1000
        emu_median = statistics.median(emu_times) * 1000
        echo_rps = throughput(echo["endpoint"], 8, args.seconds)
        emu_rps = throughput(emu["endpoints"]["us-east-1"], 8, args.seconds)
        base.close()
        ours.close()
    print(f"converse round trip, median of {len(emu_times)}:")
    print(f"  stdlib echo server   {echo_median:7.3f} ms")
    print(f"  agentkit emulator    {emu_median:7.3f} ms")
    print(f"  ratio                {emu_median / echo_median:7.2f}x   (target <= 1.50x)")
    print("converse calls per second, 8 client threads:")
    print(f"  stdlib echo server   {echo_rps:7.0f}")
    print(f"  agentkit emulator    {emu_rps:7.0f}")
    print(f"  ratio                {emu_rps / echo_rps:7.2f}x")


if __name__ == "__main__":
    main()
