"""The MCP client's overhead per call against a bare SDK session to the same server.

    python -m bench.mcp_client [--calls 300] [--rounds 5] [--concurrent 200]

One fault server (agentkit.emulator.mcp_faults) in a child process, over Streamable HTTP on a
loopback port. Sequential calls of its ``echo`` tool go, round after round in the same run,
through a bare ``mcp`` ``ClientSession.call_tool`` (on its own event loop) and through
``McpClient.call`` (its session on a loop thread, the caller's thread waiting with a deadline,
the server's breaker and concurrency limit, the request and structuredContent validated against
the lock). Reported: median per-call time of each and their ratio (target: within 1.15x), then
the p50/p99 of ``--concurrent`` calls offered at once from as many threads (the server's
``max_concurrent`` raised to match), beside the same number of tasks on the bare session.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from agentkit.config import McpServerConfig
from agentkit.emulator.mcp_faults import FaultOptions, running_http, tool_list
from agentkit.tools.mcp_client import McpClient, locked_tool

ARGS = {"text": "a short answer"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bare:
    """A bare SDK session on its own loop thread (so its cost is measured from the same
    synchronous caller as the client's would be, plus nothing else)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.session: ClientSession | None = None
        self.owner = asyncio.run_coroutine_threadsafe(self._own(), self.loop)
        self.ready.wait(30)

    async def _own(self) -> None:
        self.stop = asyncio.Event()
        async with (
            streamable_http_client(self.url) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            self.session = session
            self.ready.set()
            await self.stop.wait()

    async def _sequential(self, calls: int) -> float:
        assert self.session is not None
        started = time.perf_counter()
        for _ in range(calls):
            await self.session.call_tool("echo", ARGS)
        return (time.perf_counter() - started) / calls

    def sequential(self, calls: int) -> float:
        return asyncio.run_coroutine_threadsafe(self._sequential(calls), self.loop).result()

    async def _burst(self, n: int) -> list[float]:
        assert self.session is not None
        session = self.session

        async def one() -> float:
            started = time.perf_counter()
            await session.call_tool("echo", ARGS)
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one() for _ in range(n))))

    def burst(self, n: int) -> list[float]:
        return asyncio.run_coroutine_threadsafe(self._burst(n), self.loop).result()

    def close(self) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.owner.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def client_sequential(client: McpClient, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        client.call("echo", ARGS)
    return (time.perf_counter() - started) / calls


def client_burst(client: McpClient, n: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    gate = threading.Barrier(n)

    def one() -> None:
        gate.wait()
        started = time.perf_counter()
        client.call("echo", ARGS)
        with lock:
            latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def run(calls: int, rounds: int, concurrent: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state, running_http(Path(state)) as url:
        config = McpServerConfig(url=url, max_concurrent=concurrent, max_queue=0, timeout_s=60)
        lock = {
            "bench": {t.name: locked_tool("bench", t) for t in tool_list(FaultOptions(Path(state)))}
        }
        client = McpClient({"bench": config}, lock)
        bare = Bare(url)
        try:
            client.call("echo", ARGS)  # open the session
            bare.sequential(20)
            client_sequential(client, 20)  # warm both
            bare_s, client_s = [], []
            for _ in range(rounds):
                bare_s.append(bare.sequential(calls))
                client_s.append(client_sequential(client, calls))
            bare_burst = bare.burst(concurrent)
            client_burst_s = client_burst(client, concurrent)
        finally:
            bare.close()
            client.close()
    bare_ms = statistics.median(bare_s) * 1000
    client_ms = statistics.median(client_s) * 1000
    return {
        "bare_ms": bare_ms,
        "client_ms": client_ms,
        "ratio": client_ms / bare_ms,
        "bare_p50_ms": percentile(bare_burst, 0.5) * 1000,
        "bare_p99_ms": percentile(bare_burst, 0.99) * 1000,
        "client_p50_ms": percentile(client_burst_s, 0.5) * 1000,
        "client_p99_ms": percentile(client_burst_s, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mcp_client")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    r = run(args.calls, args.rounds, args.concurrent)
    print(
        f"echo over Streamable HTTP (loopback, server in a child process), {args.calls} "
        f"sequential calls x {args.rounds} rounds, median per call"
    )
    print(f"  bare SDK ClientSession.call_tool  {r['bare_ms']:7.2f} ms")
    print(f"  agentkit McpClient.call           {r['client_ms']:7.2f} ms   {r['ratio']:.2f}x")
    print(f"{args.concurrent} concurrent calls")
    print(
        f"  bare SDK (tasks)       p50 {r['bare_p50_ms']:7.1f} ms  p99 {r['bare_p99_ms']:7.1f} ms"
    )
    p50, p99 = r["client_p50_ms"], r["client_p99_ms"]
    print(f"  agentkit (threads)     p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")


if __name__ == "__main__":
    main()
