"""Sessions in PostgreSQL, shared by a fleet of workers (``sessions: {backend: postgres, dsn}``).

LangGraph's ``PostgresSaver`` over a connection pool (and ``AsyncPostgresSaver`` over an
``AsyncConnectionPool`` for ``arun``), schema set up on first use, so any worker resumes any
session. The no-lost-turns rule of :mod:`agentkit.agents.sessions` holds per session: a turn
holds ``pg_advisory_lock`` keyed by the session id, on a connection of its own, from its read of
the latest checkpoint to its last write. psycopg is imported only when this store is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agentkit.agents.checkpoints import (
    LOCK_TIMEOUT_S,
    POLL_S,
    AsyncTurnSerialised,
    Closer,
    DualSaver,
    SessionBusy,
    TurnSerialised,
)
from agentkit.errors import InputError

if TYPE_CHECKING:
    from psycopg import AsyncConnection, Connection
    from psycopg_pool import AsyncConnectionPool, ConnectionPool


def advisory_key(session: str) -> int:
    """A signed 64-bit ``pg_advisory_lock`` key for one session (namespaced, stable)."""
    digest = hashlib.blake2b(f"agentkit.session:{session}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SessionLocks:
    """Per-session turn locks on PostgreSQL (``pg_try_advisory_lock``, polled like the SQLite
    store's ``TurnLock``), each on a connection of its own from ``pool`` until released.

    Like ``TurnLock``, the holder is this object, not a thread: LangGraph writes the last
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
        pause = POLL_S[0]
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
            pause = min(pause * 2, POLL_S[1])


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
            # Turns beyond the pool's size wait for a connection as they would for the lock.
            conn = await self._pool.getconn(timeout=self.timeout_s)
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
        pause = POLL_S[0]
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
            pause = min(pause * 2, POLL_S[1])


@functools.cache
def _async_postgres_saver_class() -> type[Any]:
    """LangGraph's AsyncPostgresSaver with each run holding its session's lock."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    class AsyncSerialisedPostgresSaver(AsyncTurnSerialised, AsyncPostgresSaver):
        """The same turn rule as the SQLite store's, per session."""

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
        """The same turn rule as the SQLite store's, per session."""

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
