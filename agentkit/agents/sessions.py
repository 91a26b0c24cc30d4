"""Chat sessions persisted with LangGraph's SQLite checkpointer: safe under crashes and concurrency.

- **No lost turns.** A turn reads the session's latest checkpoint and writes new ones; two
  processes doing that at once would fork the session and one turn would be lost. So every run
  on a sessions database holds that database's write lock (``flock`` on ``<db>.lock``, a sidecar
  file that survives the database being moved aside) from its read of the latest checkpoint to
  its last write. The lock is taken by the checkpointer itself, so every caller is covered;
  :meth:`SessionStore.turn` takes it explicitly around a block.
- **WAL and a busy timeout**, so readers never block the writer and brief contention waits.
- **A corrupt database is never overwritten**: it is moved aside to
  ``sessions.sqlite.corrupt-<timestamp>``, reported in one line, and a new one is started.

For a fleet of workers, ``sessions: {backend: postgres, dsn}`` keeps the sessions in PostgreSQL
(:class:`PostgresSessionStore`, LangGraph's ``PostgresSaver`` over a connection pool, schema set
up on first use), so any worker resumes any session. The no-lost-turns guarantee holds there
per session: a turn holds ``pg_advisory_lock`` keyed by the session id, on a connection of its
own, from its read of the latest checkpoint to its last write. :func:`open_sessions` picks the
store from configuration; psycopg is imported only when PostgreSQL is configured.

Each store's ``checkpointer`` serves ``AgentRuntime.run`` and ``arun`` alike
(:class:`~agentkit.agents.checkpoints.DualSaver`): under ``arun`` the reads and writes go through
LangGraph's async savers (``AsyncSqliteSaver`` over aiosqlite, ``AsyncPostgresSaver`` over an
``AsyncConnectionPool``), opened on the event loop at the first async call, and the turn lock is
waited for without blocking the loop, with the same guarantee. ``aclose()`` closes that side.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentkit.agents.checkpoints import AsyncTurnSerialised, DualSaver, TurnSerialised
from agentkit.config import SessionsConfig, optional_module
from agentkit.errors import AgentkitError, InputError

if TYPE_CHECKING:
    import aiosqlite
    from psycopg import AsyncConnection, Connection
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

Closer = Callable[[], Awaitable[None]]

BUSY_TIMEOUT_S = 30.0  # SQLite's own wait for a brief lock
LOCK_TIMEOUT_S = 120.0  # how long a turn waits for another process's turn to finish
_POLL_S = (0.001, 0.01)  # first and longest wait between lock attempts


class SessionBusy(AgentkitError):
    """Another process has held the sessions database for longer than LOCK_TIMEOUT_S."""


class TurnLock:
    """An exclusive, re-entrant-per-holder lock on one sessions database (``flock``).

    Held across threads (LangGraph writes checkpoints from a background thread), so the holder
    is this object, not a thread.
    """

    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = LOCK_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, session: str | None = None) -> None:
        """Take the database's lock (one lock for every session of a SQLite file)."""
        with self._mutex:
            if self._fd is not None:
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                self._wait(fd)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd

    def release(self, session: str | None = None) -> None:
        with self._mutex:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    async def aacquire(self, session: str | None = None) -> None:
        """:meth:`acquire` from the event loop: each try never blocks, the waits between
        tries are awaited."""
        deadline = self._monotonic() + self.timeout_s
        pause = _POLL_S[0]
        while not self._try():
            if self._monotonic() >= deadline:
                raise self._busy()
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_S[1])

    async def arelease(self, session: str | None = None) -> None:
        self.release(session)

    def _try(self) -> bool:
        """Take the lock if it is free right now (or already ours)."""
        if not self._mutex.acquire(blocking=False):  # a thread is taking or giving it back
            return False
        try:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        finally:
            self._mutex.release()

    def _wait(self, fd: int) -> None:
        deadline = self._monotonic() + self.timeout_s
        pause = _POLL_S[0]
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if self._monotonic() >= deadline:
                    raise self._busy() from None
                self._sleep(pause)
                pause = min(pause * 2, _POLL_S[1])

    def _busy(self) -> SessionBusy:
        return SessionBusy(
            f"{self.path.with_suffix('')}: busy: another agentkit process has held "
            f"the sessions database for {self.timeout_s:g} s"
        )


class SerialisedSaver(TurnSerialised, SqliteSaver):
    """LangGraph's SqliteSaver, each run holding the database's :class:`TurnLock`."""

    def __init__(self, conn: sqlite3.Connection, lock: TurnLock) -> None:
        super().__init__(conn)
        self.turn_locks = lock


class AsyncSerialisedSaver(AsyncTurnSerialised, AsyncSqliteSaver):
    """LangGraph's AsyncSqliteSaver, each run holding the database's :class:`TurnLock`."""

    def __init__(self, conn: aiosqlite.Connection, lock: TurnLock) -> None:
        super().__init__(conn)
        self.turn_locks = lock


class SessionStore:
    def __init__(
        self,
        path: Path,
        *,
        report: Callable[[str], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = TurnLock(path.with_name(path.name + ".lock"), timeout_s=lock_timeout_s)
        self._report = report or _to_stderr
        self._now = now
        with self.turn():
            self._conn = self._open_checked()
            saver = SerialisedSaver(self._conn, self.lock)
            saver.setup()
        self.checkpointer = DualSaver(saver, self._open_async)

    async def _open_async(self) -> tuple[BaseCheckpointSaver[Any], Closer]:
        """The async side, on the running loop: its own connection to the checked database."""
        import aiosqlite

        conn = await aiosqlite.connect(str(self.path), timeout=BUSY_TIMEOUT_S)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            saver = AsyncSerialisedSaver(conn, self.lock)
            await saver.setup()
        except BaseException:
            await conn.close()
            raise
        return saver, conn.close

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the database's write lock for the block (one read-modify-write turn)."""
        held = self.lock.held
        self.lock.acquire()
        try:
            yield
        finally:
            if not held:
                self.lock.release()

    def sessions(self) -> list[str]:
        """Session ids, most recently used first."""
        rows = self._conn.execute(
            "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints GROUP BY thread_id "
            "ORDER BY MAX(checkpoint_id) DESC"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self.lock.release()

    async def aclose(self) -> None:
        """Close the async side (on the loop that opened it); :meth:`close` the rest after."""
        await self.checkpointer.aclose()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _open_checked(self) -> sqlite3.Connection:
        """Open the database; a corrupt one is moved aside (never overwritten) and reported."""
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
                raise InputError(f"{self.path}: cannot open sessions database: {exc}") from None
            aside = self._move_aside()
            self._report(
                f"agentkit: warning: {self.path} is corrupt ({exc}); moved it to {aside.name} "
                "and started a new sessions database"
            )
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {verdict}")
            conn.execute("PRAGMA journal_mode=WAL")  # a killed writer never corrupts the file
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash of agentkit
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> Path:
        stamp = self._now().strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        suffix = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{suffix}")
            suffix += 1
        os.replace(self.path, aside)
        for extra in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + extra)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + extra))
        return aside


def _looks_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


# --- PostgreSQL: sessions shared by a fleet of workers ----------------------------------------


class Sessions(Protocol):
    """What the CLI needs of a session store (SQLite or PostgreSQL)."""

    checkpointer: Any

    def sessions(self) -> list[str]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...

    def __enter__(self) -> Sessions: ...

    def __exit__(self, *exc: Any) -> None: ...


def open_sessions(config: SessionsConfig, sqlite_path: Path) -> Sessions:
    """The store ``sessions`` configures: SQLite at ``sqlite_path`` (the default) or PostgreSQL."""
    if config.backend == "postgres":
        assert config.dsn is not None  # the config model requires it
        optional_module("langgraph.checkpoint.postgres", "sessions.backend")
        return PostgresSessionStore(config.dsn, pool_size=config.pool_size)
    return SessionStore(sqlite_path)


def advisory_key(session: str) -> int:
    """A signed 64-bit ``pg_advisory_lock`` key for one session (namespaced, stable)."""
    digest = hashlib.blake2b(f"agentkit.session:{session}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SessionLocks:
    """Per-session turn locks on PostgreSQL (``pg_try_advisory_lock``, polled like
    :class:`TurnLock`), each on a connection of its own from ``pool`` until released.

    Like :class:`TurnLock`, the holder is this object, not a thread: LangGraph writes the last
    checkpoint from a background thread. A session-level advisory lock dies with its connection,
    so a killed worker never keeps a session locked."""

    def __init__(
        self,
        pool: ConnectionPool[Connection[Any]],
        *,
        timeout_s: float = LOCK_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._held: dict[str, Connection[Any]] = {}
        self._mutex = threading.Lock()

    def held(self, session: str) -> bool:
        return session in self._held

    def acquire(self, session: str) -> None:
        with self._mutex:
            if session in self._held:
                return
            conn = self._pool.getconn()
            try:
                self._wait(conn, session)
            except BaseException:
                self._pool.putconn(conn)
                raise
            self._held[session] = conn

    def release(self, session: str) -> None:
        with self._mutex:
            conn = self._held.pop(session, None)
            if conn is None:
                return
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(session),))
            finally:
                self._pool.putconn(conn)

    def release_all(self) -> None:
        for session in list(self._held):
            self.release(session)

    def _wait(self, conn: Connection[Any], session: str) -> None:
        key = advisory_key(session)
        deadline = self._monotonic() + self.timeout_s
        pause = _POLL_S[0]
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row is not None and row[0]:
                return
            if self._monotonic() >= deadline:
                raise SessionBusy(
                    f"session {session}: busy: another agentkit worker has held it for "
                    f"{self.timeout_s:g} s"
                )
            self._sleep(pause)
            pause = min(pause * 2, _POLL_S[1])


class AsyncSessionLocks:
    """:class:`SessionLocks` for the event loop, on a psycopg ``AsyncConnectionPool``: the
    same advisory lock per session, each try a query, the waits between tries awaited."""

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        *,
        timeout_s: float = LOCK_TIMEOUT_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self.timeout_s = timeout_s
        self._monotonic = monotonic
        self._held: dict[str, AsyncConnection[Any]] = {}
        self._taking: dict[str, asyncio.Lock] = {}  # one acquisition at a time per session

    def held(self, session: str) -> bool:
        return session in self._held

    async def aacquire(self, session: str) -> None:
        taking = self._taking.setdefault(session, asyncio.Lock())
        async with taking:
            if session in self._held:
                return
            conn = await self._pool.getconn()
            try:
                await self._wait(conn, session)
            except BaseException:
                await self._pool.putconn(conn)
                raise
            self._held[session] = conn

    async def arelease(self, session: str) -> None:
        conn = self._held.pop(session, None)
        if conn is None:
            return
        taking = self._taking.get(session)
        if taking is not None and not taking.locked():
            del self._taking[session]
        try:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(session),))
        finally:
            await self._pool.putconn(conn)

    async def release_all(self) -> None:
        for session in list(self._held):
            await self.arelease(session)

    async def _wait(self, conn: AsyncConnection[Any], session: str) -> None:
        key = advisory_key(session)
        deadline = self._monotonic() + self.timeout_s
        pause = _POLL_S[0]
        while True:
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return
            if self._monotonic() >= deadline:
                raise SessionBusy(
                    f"session {session}: busy: another agentkit worker has held it for "
                    f"{self.timeout_s:g} s"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_S[1])


@functools.cache
def _async_postgres_saver_class() -> type[Any]:
    """LangGraph's AsyncPostgresSaver with each run holding its session's lock."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    class AsyncSerialisedPostgresSaver(AsyncTurnSerialised, AsyncPostgresSaver):
        """The same turn rule as :class:`AsyncSerialisedSaver`, per session."""

        def __init__(self, pool: Any, locks: AsyncSessionLocks) -> None:
            super().__init__(pool)
            self.turn_locks = locks

    return AsyncSerialisedPostgresSaver


@functools.cache
def _postgres_saver_class() -> type[Any]:
    """LangGraph's PostgresSaver with each run holding its session's lock (imported lazily:
    psycopg loads only when PostgreSQL is configured)."""
    from langgraph.checkpoint.postgres import PostgresSaver

    class SerialisedPostgresSaver(TurnSerialised, PostgresSaver):
        """The same turn rule as :class:`SerialisedSaver`, per session."""

        def __init__(self, pool: Any, locks: SessionLocks) -> None:
            super().__init__(pool)
            self.turn_locks = locks

    return SerialisedPostgresSaver


class PostgresSessionStore:
    """Sessions in PostgreSQL: any worker resumes any session, one turn at a time per session."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 4,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        connect_timeout_s: float = 10.0,
    ) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout

        kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}
        self._dsn, self._kwargs, self._pool_size = dsn, kwargs, pool_size
        self._lock_timeout_s, self._connect_timeout_s = lock_timeout_s, connect_timeout_s
        self._pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={**kwargs, "row_factory": dict_row},
            timeout=connect_timeout_s,
            open=True,
        )
        self._lock_pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            dsn,
            min_size=0,
            max_size=max(pool_size, 8),
            kwargs=kwargs,
            timeout=connect_timeout_s,
            open=True,
        )
        self.locks = SessionLocks(self._lock_pool, timeout_s=lock_timeout_s)
        try:
            saver = _postgres_saver_class()(self._pool, self.locks)
            saver.setup()  # idempotent: creates or migrates the tables
            self.checkpointer = DualSaver(saver, self._open_async)
        except (psycopg.Error, PoolTimeout) as exc:
            self.close()
            raise InputError(
                f"sessions.dsn: cannot use the PostgreSQL sessions store: {exc}"
            ) from None
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def turn(self, session: str) -> Iterator[None]:
        """Hold ``session``'s turn lock for the block (one read-modify-write turn)."""
        held = self.locks.held(session)
        self.locks.acquire(session)
        try:
            yield
        finally:
            if not held:
                self.locks.release(session)

    def sessions(self) -> list[str]:
        """Session ids, most recently used first."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints "
                "GROUP BY thread_id ORDER BY last DESC"
            ).fetchall()
        return [str(row["thread_id"]) for row in rows]

    def close(self) -> None:
        try:
            self.locks.release_all()
        finally:
            self._lock_pool.close()
            self._pool.close()

    async def aclose(self) -> None:
        """Close the async side (on the loop that opened it); :meth:`close` the rest after."""
        await self.checkpointer.aclose()

    async def _open_async(self) -> tuple[BaseCheckpointSaver[Any], Closer]:
        """The async side, on the running loop: its own pools, locks and saver (the schema is
        set up again, idempotently, on first use)."""
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        timeout = self._connect_timeout_s
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._pool_size,
            kwargs={**self._kwargs, "row_factory": dict_row},
            timeout=timeout,
            open=False,
        )
        lock_pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            self._dsn,
            min_size=0,
            max_size=max(self._pool_size, 8),
            kwargs=self._kwargs,
            timeout=timeout,
            open=False,
        )
        locks = AsyncSessionLocks(lock_pool, timeout_s=self._lock_timeout_s)

        async def close() -> None:
            try:
                await locks.release_all()
            finally:
                await lock_pool.close()
                await pool.close()

        try:
            await pool.open(wait=True, timeout=timeout)
            await lock_pool.open()
            saver = _async_postgres_saver_class()(pool, locks)
            await saver.setup()
        except BaseException:
            await close()
            raise
        return saver, close

    def __enter__(self) -> PostgresSessionStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
