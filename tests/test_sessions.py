"""Sessions under concurrency and corruption: no turn is lost, no database silently replaced."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentkit.agents.checkpoints import pauses
from agentkit.agents.sessions import SessionBusy, SessionStore, TurnLock

QUESTION = "turn {n}: RTO 5 minutes and RPO 1 minute for payments in us-east-1"
FORK = multiprocessing.get_context("fork")  # children inherit the imports: no start-up cost


def turns_in(db: Path, session: str) -> list[dict[str, str]]:
    from agentkit.agents.dr.agent import build_advisor, history
    from agentkit.config import load_config

    with SessionStore(db) as store:
        runtime = build_advisor(load_config(None), checkpointer=store.checkpointer, model=None)
        return history(runtime, session)


def _chat_worker(db: str, worker: int, turns: int, start: Any) -> None:
    """One long-lived store, many turns: the path `agentkit chat` takes."""
    from agentkit.agents.dr.agent import ask, build_advisor
    from agentkit.config import load_config

    with SessionStore(Path(db)) as store:
        runtime = build_advisor(load_config(None), checkpointer=store.checkpointer, model=None)
        start.wait()
        for n in range(turns):
            ask(runtime, QUESTION.format(n=f"{worker}.{n}"), "S")
            assert not store.lock.held  # the lock is given back when the turn ends


def _cli_worker(db: str, worker: int, turns: int, start: Any) -> None:
    """A store per turn: the path `agentkit ask --session S` takes."""
    from agentkit.cli.ask import ask

    start.wait()
    for n in range(turns):
        with contextlib.redirect_stdout(io.StringIO()):
            ask(
                QUESTION.format(n=f"{worker}.{n}"),
                session="S",
                json_output=True,
                config=None,
                sessions=Path(db),
            )


def run_workers(target: Any, db: Path, workers: int, turns: int) -> None:
    start = FORK.Event()
    processes = [
        FORK.Process(target=target, args=(str(db), w, turns, start)) for w in range(workers)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=240)
        assert process.exitcode == 0


def test_8_processes_x_25_turns_on_one_session_keep_200_turns(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    SessionStore(db).close()
    run_workers(_chat_worker, db, workers=8, turns=25)
    turns = turns_in(db, "S")
    assert len(turns) == 200
    asked = {t["question"].split(":")[0] for t in turns}
    assert asked == {f"turn {w}.{n}" for w in range(8) for n in range(25)}


def test_concurrent_ask_commands_keep_every_turn(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    run_workers(_cli_worker, db, workers=4, turns=2)
    assert len(turns_in(db, "S")) == 8


def test_the_lock_is_exclusive_and_times_out_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite.lock"
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    holder = TurnLock(path)
    waiter = TurnLock(path, timeout_s=1.0, sleep=sleep, monotonic=lambda: clock[0])
    holder.acquire()
    holder.acquire()  # re-entrant for its holder
    with pytest.raises(SessionBusy, match=r"sessions.sqlite: busy: .* for 1 s$"):
        waiter.acquire()
    assert 1.0 <= clock[0] < 1.1
    holder.release()
    waiter.acquire()
    assert waiter.held
    waiter.release()


def test_lock_pauses_double_to_the_longest_until_one_deadline_set_when_asked() -> None:
    clock = [0.0]
    waits = pauses(0.05, lambda: clock[0])
    clock[0] = 0.03  # time spent before the first pause (waiting for a connection) counts
    taken = []
    for pause in waits:
        taken.append(pause)
        clock[0] += pause
    assert taken == [0.001, 0.002, 0.004, 0.008, 0.01]
    assert list(pauses(0.0, lambda: 5.0)) == []  # no time: one try, no pause


class _BusyConnection:
    """A lock connection on which every ``pg_try_advisory_lock`` fails (and takes 0.1 s)."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock

    async def execute(self, query: str, params: Any) -> _BusyConnection:
        self.clock[0] += 0.1
        return self

    async def fetchone(self) -> tuple[bool]:
        return (False,)


class _SlowPool:
    """A pool that hands out a connection after most of the wait it was given."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.timeouts: list[float] = []
        self.returned = 0

    async def getconn(self, timeout: float) -> _BusyConnection:
        self.timeouts.append(timeout)
        self.clock[0] += 0.9 * timeout
        return _BusyConnection(self.clock)

    async def putconn(self, conn: _BusyConnection) -> None:
        self.returned += 1


def test_an_async_session_lock_waits_one_timeout_for_the_connection_and_the_lock() -> None:
    import asyncio

    from agentkit.agents.sessions_postgres import AsyncSessionLocks

    clock = [0.0]
    pool = _SlowPool(clock)
    locks = AsyncSessionLocks(pool, timeout_s=10.0, monotonic=lambda: clock[0])  # type: ignore[arg-type]
    with pytest.raises(SessionBusy, match=r"session s1: busy: .* for 10 s$"):
        asyncio.run(locks.aacquire("s1"))
    assert pool.timeouts == [10.0]
    assert 10.0 <= clock[0] < 10.2  # not 9 s for the connection, then 10 more for the lock
    assert pool.returned == 1
    assert not locks.held("s1")


def test_a_session_lock_waits_one_timeout_for_the_connection_and_the_lock() -> None:
    from agentkit.agents.sessions_postgres import SessionLocks

    clock = [0.0]

    class Busy:
        def execute(self, query: str, params: Any) -> Busy:
            clock[0] += 0.1
            return self

        def fetchone(self) -> tuple[bool]:
            return (False,)

    timeouts: list[float] = []

    class Slow:
        def getconn(self, timeout: float) -> Busy:
            timeouts.append(timeout)
            clock[0] += 0.9 * timeout
            return Busy()

        def putconn(self, conn: Busy) -> None:
            pass

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    locks = SessionLocks(Slow(), timeout_s=10.0, sleep=sleep, monotonic=lambda: clock[0])  # type: ignore[arg-type]
    with pytest.raises(SessionBusy, match=r"session s1: busy: .* for 10 s$"):
        locks.acquire("s1")
    assert timeouts == [10.0]
    assert 10.0 <= clock[0] < 10.2
    assert not locks.held("s1")


def corrupt(db: Path, how: str) -> None:
    if how == "garbage":
        db.write_bytes(b"this is not a database\x00" * 100)
        return
    with SessionStore(db) as store:
        store._conn.executemany(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id) VALUES (?, '', ?)",
            [(f"t{i}", "x" * 500) for i in range(200)],
        )
        store._conn.commit()
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db.read_bytes())
    for offset in range(4096, len(raw), 4096):  # the b-tree header of every page but the first
        raw[offset : offset + 8] = b"\xff" * 8
    db.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["garbage", "damaged pages"])
def test_a_corrupt_database_is_moved_aside_and_reported(tmp_path: Path, how: str) -> None:
    db = tmp_path / "sessions.sqlite"
    corrupt(db, how)
    before = db.read_bytes()
    lines: list[str] = []
    moment = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)
    with SessionStore(db, report=lines.append, now=lambda: moment) as store:
        assert store.sessions() == []
    aside = tmp_path / "sessions.sqlite.corrupt-20261207T010203Z"
    assert aside.read_bytes() == before
    assert len(lines) == 1
    assert lines[0].startswith(f"agentkit: warning: {db} is corrupt (")
    assert lines[0].endswith(
        "moved it to sessions.sqlite.corrupt-20261207T010203Z and started a new sessions database"
    )
    corrupt(db, "garbage")
    with SessionStore(db, report=lines.append, now=lambda: moment):
        pass
    assert (tmp_path / "sessions.sqlite.corrupt-20261207T010203Z-1").exists()


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    from agentkit.errors import InputError

    db = tmp_path / "sessions.sqlite"
    db.mkdir()
    with pytest.raises(InputError, match="cannot open sessions database"):
        SessionStore(db)
    assert db.is_dir()


def test_a_healthy_database_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    SessionStore(db).close()
    lines: list[str] = []
    SessionStore(db, report=lines.append).close()
    assert lines == []
    assert sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# --- the async side (AgentRuntime.arun, `agentkit serve`) ------------------------------------


def _async_worker(db: str, worker: int, turns: int, start: Any) -> None:
    """`_chat_worker` on an event loop: the path `agentkit serve` takes."""
    import asyncio

    from agentkit.agents.dr.agent import aask, build_advisor
    from agentkit.config import load_config

    async def main() -> None:
        with SessionStore(Path(db)) as store:
            runtime = build_advisor(load_config(None), checkpointer=store.checkpointer, model=None)
            try:
                start.wait()
                for n in range(turns):
                    await aask(runtime, QUESTION.format(n=f"{worker}.{n}"), "S")
                    assert not store.lock.held  # given back when the turn ends
            finally:
                await store.aclose()

    asyncio.run(main())


def test_async_turns_from_4_processes_on_one_session_keep_every_turn(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    SessionStore(db).close()
    run_workers(_async_worker, db, workers=4, turns=10)
    turns = turns_in(db, "S")
    assert len(turns) == 40
    asked = {t["question"].split(":")[0] for t in turns}
    assert asked == {f"turn {w}.{n}" for w in range(4) for n in range(10)}


def test_an_async_session_continues_on_another_runtime(tmp_path: Path) -> None:
    import asyncio

    from agentkit.agents.dr.agent import aask, build_advisor
    from agentkit.config import load_config

    db = tmp_path / "sessions.sqlite"
    first, second = "What DR strategy for our Aurora database in eu-west-1?", "RTO 20 min, RPO 10 s"

    async def turn(question: str) -> Any:
        with SessionStore(db) as store:  # a new store and runtime each turn: another worker
            runtime = build_advisor(load_config(None), checkpointer=store.checkpointer, model=None)
            try:
                return await aask(runtime, question, "S")
            finally:
                await store.aclose()

    assert asyncio.run(turn(first)).source == "question"  # it asks for the targets
    answer = asyncio.run(turn(second))
    assert answer.strategy == "warm_standby"
    assert answer.tool_calls[0]["input"]["primary_region"] == "eu-west-1"  # remembered
    assert [t["question"] for t in turns_in(db, "S")] == [first, second]


def test_the_async_lock_waits_without_blocking_and_times_out_in_one_line(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "sessions.sqlite.lock"
    holder = TurnLock(path)
    waiter = TurnLock(path, timeout_s=0.3)
    holder.acquire()

    async def wait() -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        with pytest.raises(SessionBusy, match=r"sessions.sqlite: busy: .* for 0.3 s$"):
            await waiter.aacquire()
        ticker.cancel()
        assert ticks > 1  # the loop ran other work while the lock was waited for
        holder.release()
        await waiter.aacquire()
        assert waiter.held
        await waiter.arelease()

    asyncio.run(wait())
    assert not waiter.held
