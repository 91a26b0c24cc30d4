"""The MCP fault server's counters lose no update when processes and threads share a state
folder: the SIGKILL tests' exactly-one-execution checks read them."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from agentkit.emulator.mcp_faults import _Executions, count_call, executions

PROCESSES, THREADS, EACH = 3, 4, 25


def hammer(state: str, worker: int) -> list[int]:
    """``THREADS`` threads of one process, each recording ``EACH`` new keys and counting as
    many calls; the call numbers it was given."""
    folder = Path(state)

    def one_thread(thread: int) -> list[int]:
        numbers = []
        for n in range(EACH):
            _Executions(folder).record(f"w{worker}-t{thread}-{n}", "")
            numbers.append(count_call(folder))
        return numbers

    with ThreadPoolExecutor(THREADS) as pool:
        return [n for numbers in pool.map(one_thread, range(THREADS)) for n in numbers]


def test_concurrent_processes_and_threads_lose_no_count(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
        futures = [pool.submit(hammer, str(tmp_path), worker) for worker in range(PROCESSES)]
        numbers = [n for future in futures for n in future.result(timeout=120)]
    total = PROCESSES * THREADS * EACH
    counted = executions(tmp_path)
    assert (counted["count"], counted["calls"], len(counted["keys"])) == (total, total, total)
    assert sorted(e["execution"] for e in counted["keys"].values()) == list(range(1, total + 1))
    # every call got its own number, and the file holds the last
    assert sorted(numbers) == list(range(1, total + 1))
    assert int((tmp_path / "calls").read_text()) == total
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_repeated_key_executes_once_under_contention(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _Executions(tmp_path).record("same", "x"), range(40)))
    assert sum(executed for _, executed in results) == 1
    assert {result["execution"] for result, _ in results} == {1}
    counted = executions(tmp_path)
    assert (counted["count"], counted["calls"]) == (1, 40)
