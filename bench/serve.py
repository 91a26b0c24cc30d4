"""Concurrent SSE sessions against ``agentkit serve`` workers, beside the same turns in process.

    python -m bench.serve [--sessions 200] [--workers 2] [--capacity 16] [--embedded]
                          [--redis redis://127.0.0.1:6379/0]
                          [--postgres postgresql://postgres@127.0.0.1:5432/test]
    python -m bench.serve --graph [--sessions 200] [--capacity 16] [--repeat 1] [--embedded] ...

The emulator (a child process) is the model tier. Both runs use one configuration: resilience
state on Redis and sessions on PostgreSQL (a key prefix and a schema of the run's own, removed
afterwards), or memory and SQLite with ``--embedded``.

1. Baseline, in process: ``--sessions`` DR advisor turns submitted at once to one advisor with
   ``workers x capacity`` threads, each streaming its guarded text (the path ``chat`` uses).
2. Served: ``agentkit serve --workers W --capacity C`` (a child process), and ``--sessions``
   clients opening an SSE stream each at once (``Accept: text/event-stream``, a session each).

Latency is from submission to the final ``answer`` event (or the turn's return), queueing
included. A session counts as an error unless it ends with an answer.

``--graph``: one serve worker of ``--capacity`` turns, twice, with the same SSE clients: the way
serve runs a turn now (``AgentRuntime.arun`` on the event loop) and the way it ran one before
(``run`` in a worker thread per turn, its text handed to the loop); p50, p99, wall time and the
server process's CPU per turn (``/proc/<pid>/stat``) and peak thread count (``/proc/<pid>/status``,
sampled every 5 ms), async / threaded.
``--repeat N`` runs each mode N times, the modes taking turns (ABBA), and reports the median p50,
p99, wall time and CPU per turn (completed and errors summed), so a change in a shared machine's
load falls on both modes rather than on the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from bench._servers import emulator

QUESTION = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
REGIONS = ("us-east-1", "us-west-2")


def write_config(path: Path, endpoints: dict[str, str], backends: dict[str, Any]) -> None:
    doc: dict[str, Any] = {
        "models": {
            "residency": "us",
            "routes": [{"model": MODEL, "region": r} for r in REGIONS],
            "endpoints": endpoints,
        },
        "resilience": {"timeouts": {"connect_s": 2.0, "read_s": 30.0}},
        "limits": {"max_tokens": 256},
    }
    if "redis" in backends:
        doc["resilience"]["state"] = {"backend": "redis", **backends["redis"]}
    if "postgres" in backends:
        doc["sessions"] = {"backend": "postgres", **backends["postgres"]}
    path.write_text(json.dumps(doc))  # JSON is YAML


@contextmanager
def backends(args: argparse.Namespace, pool: int) -> Iterator[dict[str, Any]]:
    """A Redis prefix and a PostgreSQL schema of this run's own, removed afterwards; ``pool``
    connections per process (each turn in flight holds one for its session lock)."""
    if args.embedded:
        yield {}
        return
    import psycopg
    import redis

    run = uuid.uuid4().hex[:10]
    prefix, schema = f"agentkit-bench-serve-{run}:", f"agentkit_bench_{run}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in args.postgres else "?"
    dsn = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
    try:
        yield {
            "redis": {"url": args.redis, "prefix": prefix},
            "postgres": {"dsn": dsn, "pool_size": pool},
        }
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        client = redis.Redis.from_url(args.redis)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def in_process(config: Path, sessions: int, threads: int, home: Path) -> dict[str, Any]:
    from agentkit.serve.http_service import Advisor, ServeSettings

    advisor = Advisor.open(ServeSettings(config=str(config), sessions=str(home / "in.sqlite")))
    latencies: list[float] = []
    errors = 0

    def turn(session: str, submitted: float) -> float:
        streamed: list[str] = []
        answer = advisor.ask(QUESTION, session, streamed.append)
        if answer.degraded or not streamed:
            raise RuntimeError(f"degraded or not streamed: {answer.degraded_reason}")
        return time.perf_counter() - submitted

    try:
        for i in range(4):  # warm, as the served side is: imports, first connections, caches
            advisor.ask(QUESTION, f"in-warm-{i}-{uuid.uuid4().hex[:6]}", None)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [
                pool.submit(turn, f"in-{i}-{uuid.uuid4().hex[:6]}", time.perf_counter())
                for i in range(sessions)
            ]
            for future in futures:
                try:
                    latencies.append(future.result())
                except Exception:
                    errors += 1
        wall = time.perf_counter() - started
    finally:
        advisor.close()
    return summary(latencies, errors, wall)


@contextmanager
def served(config: Path, workers: int, capacity: int, log: Path) -> Iterator[str]:
    command = [
        *(sys.executable, "-m", "agentkit", "serve", "-c", str(config), "--port", "0"),
        *("--workers", str(workers), "--capacity", str(capacity)),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink, env=dict(os.environ))
    try:
        url = None
        for _ in range(1200):
            found = re.search(r"listening on (http://\S+) ", log.read_text())
            if found:
                url = found.group(1)
                break
            if process.poll() is not None:
                raise SystemExit(f"agentkit serve exited: {log.read_text()}")
            time.sleep(0.05)
        if url is None:
            raise SystemExit("agentkit serve never announced itself")
        warm_up(url, workers)
        yield url
    finally:
        process.terminate()  # SIGTERM: the server finishes what it has, then exits
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def warm_up(url: str, workers: int) -> None:
    """Until every worker has answered a turn (each builds its advisor at start)."""
    for _ in range(600):
        with suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ping", timeout=5).status_code == 200:
                break
        time.sleep(0.1)
    for i in range(workers * 4):
        body = {"prompt": QUESTION, "session_id": f"warm-{i}"}
        httpx.post(f"{url}/invocations", json=body, timeout=120)


async def one_session(client: httpx.AsyncClient, url: str, session: str) -> float:
    submitted = time.perf_counter()
    final: dict[str, Any] | None = None
    texts = 0
    async with client.stream(
        "POST",
        f"{url}/invocations",
        json={"prompt": QUESTION, "session_id": session},
        headers={"Accept": "text/event-stream"},
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line.removeprefix("data: "))
            if event["type"] == "text":
                texts += 1
            else:
                final = event
    if final is None or final["type"] != "answer" or final["degraded"] or not texts:
        raise RuntimeError(f"no streamed answer: {final}")
    return time.perf_counter() - submitted


async def clients(url: str, sessions: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(limits=limits, timeout=300) as client:
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(one_session(client, url, f"sse-{i}-{uuid.uuid4().hex[:6]}") for i in range(sessions)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
    latencies = [o for o in outcomes if isinstance(o, float)]
    failures = [o for o in outcomes if not isinstance(o, float)]
    for failure in failures[:3]:
        print(f"  error: {failure!r}", file=sys.stderr)
    return summary(latencies, len(failures), wall)


def summary(latencies: list[float], errors: int, wall: float) -> dict[str, Any]:
    ordered = sorted(latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "completed": len(latencies),
        "errors": errors,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": p99 * 1000,
        "wall_s": wall,
    }


# --- the async graph beside the threaded turns serve ran before --------------------------------


def graph_child(config: str, mode: str, capacity: int, sessions: str) -> None:
    """A serve worker in this process (``python -m bench.serve --child MODE``), announced as one
    JSON line: ``async`` is serve as it is; ``threaded`` runs each turn as serve did before the
    async graph (``anyio.to_thread`` under a limiter of ``capacity``, text sent to the loop)."""
    import socket
    from collections.abc import Callable

    import anyio
    import anyio.from_thread
    import anyio.to_thread
    import uvicorn

    from agentkit.agents.dr.agent import Answer
    from agentkit.serve.http import create_app
    from agentkit.serve.http_service import Advisor, ServeSettings

    class ThreadedAdvisor(Advisor):
        limiter: anyio.CapacityLimiter | None = None

        async def aask(
            self, prompt: str, session: str, on_text: Callable[[str], None] | None
        ) -> Answer:
            if self.limiter is None:
                self.limiter = anyio.CapacityLimiter(capacity)
            send = on_text

            def streamed(piece: str) -> None:
                assert send is not None
                anyio.from_thread.run_sync(send, piece)

            return await anyio.to_thread.run_sync(
                lambda: self.ask(prompt, session, streamed if send else None),
                limiter=self.limiter,
            )

    settings = ServeSettings(config=config, sessions=sessions, capacity=capacity)
    advisor = (ThreadedAdvisor if mode == "threaded" else Advisor).open(settings)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}), flush=True)
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "lifespan": "on"}
    server = uvicorn.Server(uvicorn.Config(create_app(advisor, settings), **options))
    with suppress(KeyboardInterrupt):  # SIGINT: uvicorn finishes the turns, then re-raises it
        server.run(sockets=[listener])


class PeakThreads:
    """The most threads process ``pid`` had while the block ran (every 5 ms)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.status = Path(f"/proc/{pid}/status")
        self.peak = self._now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _now(self) -> int:
        found = re.search(r"^Threads:\s+(\d+)", self.status.read_text(), re.MULTILINE)
        return int(found.group(1)) if found else 0

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            with suppress(OSError):
                self.peak = max(self.peak, self._now())

    def __enter__(self) -> PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def graph_modes(
    config: Path, sessions: int, capacity: int, home: Path, repeat: int = 1
) -> dict[str, Any]:
    """Each mode's figures over ``repeat`` runs, the modes taking turns (ABBA)."""
    modes = ("threaded", "async")
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for index in range(repeat):
        for mode in modes if index % 2 == 0 else modes[::-1]:
            runs[mode].append(graph_mode(mode, config, sessions, capacity, home))
    return {mode: combined(taken) for mode, taken in runs.items()}


def graph_mode(mode: str, config: Path, sessions: int, capacity: int, home: Path) -> dict[str, Any]:
    from bench._servers import child

    command = [
        *(sys.executable, "-m", "bench.serve", "--child", mode, "--config", str(config)),
        *("--capacity", str(capacity), "--sessions-db", str(home / f"{mode}.sqlite")),
    ]
    with child(command) as server:
        warm_up(server["url"], 1)
        used = cpu_s(server["pid"])
        with PeakThreads(server["pid"]) as threads:
            result = asyncio.run(clients(server["url"], sessions))
        used = cpu_s(server["pid"]) - used
    cpu = {"cpu_ms_per_turn": used / max(1, result["completed"]) * 1000}
    return {**result, **cpu, "peak_threads": threads.peak}


def cpu_s(pid: int) -> float:
    """The CPU seconds process ``pid`` has used (user + system, ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


MEDIANS = ("p50_ms", "p99_ms", "wall_s", "cpu_ms_per_turn")


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One mode's runs: completed and errors summed, the most threads, the rest's median."""
    return {
        "completed": sum(r["completed"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        **{k: statistics.median(r[k] for r in runs) for k in MEDIANS},
        "peak_threads": max(r["peak_threads"] for r in runs),
    }


def compare_graph_modes(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["AGENTKIT_HOME"] = str(home / "home")
        config = home / "agentkit.yaml"
        with emulator(",".join(REGIONS)) as emu, backends(args, args.capacity) as shared:
            write_config(config, emu["endpoints"], shared)
            results = graph_modes(config, args.sessions, args.capacity, home, args.repeat)
    print_graph_modes(args, results)


def print_graph_modes(args: argparse.Namespace, results: dict[str, Any]) -> None:
    kind = "memory state, SQLite sessions" if args.embedded else "Redis state, PostgreSQL sessions"
    runs = f", median of {args.repeat} runs per mode (ABBA)" if args.repeat > 1 else ""
    print(
        f"{args.sessions} concurrent DR advisor sessions (SSE) against one serve worker of "
        f"{args.capacity} turns, emulator behind ({kind}){runs}"
    )
    threaded, awaited = results["threaded"], results["async"]
    print(f"{'':18}{'threaded':>12}{'async graph':>14}{'async/threaded':>16}")
    for key in ("completed", "errors", *MEDIANS, "peak_threads"):
        ratio = f"{awaited[key] / threaded[key]:>15.2f}x" if threaded[key] else f"{'':>16}"
        print(f"  {key:<16}{threaded[key]:>12.1f}{awaited[key]:>14.1f}{ratio}")


def main() -> None:
    if "--child" in sys.argv:
        child_args = argparse.ArgumentParser()
        child_args.add_argument("--child", choices=["threaded", "async"])
        child_args.add_argument("--config")
        child_args.add_argument("--capacity", type=int)
        child_args.add_argument("--sessions-db")
        known = child_args.parse_args()
        graph_child(known.config, known.child, known.capacity, known.sessions_db)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=16)
    parser.add_argument("--embedded", action="store_true", help="memory state, SQLite sessions")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--graph", action="store_true", help="async graph against threaded turns")
    parser.add_argument(
        "--repeat", type=int, default=1, help="--graph: runs per mode, taking turns (ABBA)"
    )
    args = parser.parse_args()
    if args.graph:
        compare_graph_modes(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["AGENTKIT_HOME"] = str(home / "home")
        config = home / "agentkit.yaml"
        threads = args.workers * args.capacity  # the baseline runs as many turns at once
        with emulator(",".join(REGIONS)) as emu, backends(args, threads) as shared:
            write_config(config, emu["endpoints"], shared)
            base = in_process(config, args.sessions, threads, home)
            one = {}
            if args.workers > 1:  # the same threads in one process: HTTP + SSE cost alone
                with served(config, 1, threads, home / "serve-1.log") as url:
                    one = asyncio.run(clients(url, args.sessions))
            with served(config, args.workers, args.capacity, home / "serve.log") as url:
                http = asyncio.run(clients(url, args.sessions))
    kind = "memory state, SQLite sessions" if args.embedded else "Redis state, PostgreSQL sessions"
    print(
        f"{args.sessions} concurrent DR advisor sessions (SSE), emulator behind ({kind}); "
        f"{threads} turns at once in every column"
    )
    columns = [("in-process", base)]
    if one:
        columns.append((f"serve 1x{threads}", one))
    columns.append((f"serve {args.workers}x{args.capacity}", http))
    print(f"{'':14}" + "".join(f"{name:>16}" for name, _ in columns))
    for key in ("completed", "errors"):
        print(f"  {key:<12}" + "".join(f"{c[key]:>16.0f}" for _, c in columns))
    for key in ("p50_ms", "p99_ms", "wall_s"):
        cells = [
            f"{c[key]:>9.1f}" + (f" {c[key] / base[key]:>5.2f}x" if c is not base else " " * 7)
            for _, c in columns
        ]
        print(f"  {key:<12}" + "".join(cells))
    ok = http["completed"] == args.sessions and http["errors"] == 0
    print(
        f"  ratio: against in-process; {args.workers} workers: all {args.sessions} SSE sessions "
        f"completed without error: {'yes' if ok else 'NO'}"
    )


if __name__ == "__main__":
    main()
