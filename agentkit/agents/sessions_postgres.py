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

import anyio
from langgraph.checkpoint.base import BaseCheckpointSaver

from agentkit.agents.checkpoints import (
    LOCK_TIMEOUT_S,
    AsyncTurnSerialised,
    Closer,
    DualSaver,
    SessionBusy,
    TurnSerialised,
    pauses,
)
from agentkit.errors import InputError

if TYPE_CHECKING:
    from psycopg import AsyncConnection, Connection
    from psycopg_pool import AsyncConnectionPool, ConnectionPool


CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}


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
            # One deadline for both waits: for a connection (turns beyond the pool's size),
            # then for the lock. The pauses' deadline is set here, before the first.
            waits = pauses(self.timeout_s, self._monotonic)
            from psycopg_pool import PoolTimeout

            try:
                conn = self._pool.getconn(timeout=self.timeout_s)
            except PoolTimeout:
                raise _no_connection(session, self.timeout_s, self._pool.max_size) from None
            try:
                self._wait(conn, session, waits)
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

    def _wait(self, conn: Connection[Any], session: str, waits: Iterator[float]) -> None:
        key = advisory_key(session)
        while not _locked(conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()):
            pause = next(waits, None)
            if pause is None:
                raise _busy(session, self.timeout_s)
            self._sleep(pause)


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
            # Turns beyond the pool's size wait for a connection as they would for the lock:
            # one deadline for both waits (the pauses' deadline is set here, before the first).
            waits = pauses(self.timeout_s, self._monotonic)
            from psycopg_pool import PoolTimeout

            try:
                conn = await self._pool.getconn(timeout=self.timeout_s)
            except PoolTimeout:
                raise _no_connection(session, self.timeout_s, self._pool.max_size) from None
            try:
                await self._wait(conn, session, waits)
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

    async def _wait(self, conn: AsyncConnection[Any], session: str, waits: Iterator[float]) -> None:
        key = advisory_key(session)
        while not await self._try(conn, key):
            pause = next(waits, None)
            if pause is None:
                raise _busy(session, self.timeout_s)
            await anyio.sleep(pause)

    @staticmethod
    async def _try(conn: AsyncConnection[Any], key: int) -> bool:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
        return _locked(await cursor.fetchone())


def _locked(row: Any) -> bool:
    """Whether a ``pg_try_advisory_lock`` row says the lock was taken."""
    return row is not None and bool(row[0])


def _busy(session: str, timeout_s: float) -> SessionBusy:
    return SessionBusy(
        f"session {session}: busy: another agentkit worker has held it for {timeout_s:g} s"
    )


def _no_connection(session: str, timeout_s: float, pool_size: int) -> SessionBusy:
    """The wait for a lock connection ran out (more turns at once than the pool holds): the
    same :class:`SessionBusy` as a held lock, so callers answer both alike."""
    return SessionBusy(
        f"session {session}: busy: all {pool_size} of this worker's session-lock connections "
        f"were held by other turns for {timeout_s:g} s; try again, or raise sessions.pool_size "
        f"above {pool_size} to run more turns at once"
    )


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


async def open_async_side(
    dsn: str,
    *,
    pool_size: int = 4,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
    connect_timeout_s: float = 10.0,
) -> tuple[BaseCheckpointSaver[Any], Closer]:
    """A :class:`PostgresSessionStore`'s async side, on the running loop: its own pools, locks
    and saver (the schema is set up again, idempotently). A database that cannot be used is the
    constructor's one-line :class:`InputError`, not a raw psycopg error on the first turn."""
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    timeout = connect_timeout_s
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=pool_size,
        kwargs={**CONNECTION_KWARGS, "row_factory": dict_row},
        timeout=timeout,
        open=False,
    )
    lock_pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        dsn,
        min_size=0,
        max_size=max(pool_size, 8),
        kwargs=CONNECTION_KWARGS,
        timeout=timeout,
        open=False,
    )
    locks = AsyncSessionLocks(lock_pool, timeout_s=lock_timeout_s)

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
    except _database_errors() as exc:
        await close()
        raise _unusable(exc) from None
    except BaseException:
        await close()
        raise
    return saver, close


def _database_errors() -> tuple[type[Exception], ...]:
    """What opening the store raises when the database cannot be used (unreachable, refused,
    no such database or role, timed out)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    return psycopg.Error, PoolTimeout


def _unusable(exc: Exception) -> InputError:
    reason = " ".join(str(exc).split())  # psycopg's messages span lines
    return InputError(f"sessions.dsn: cannot use the PostgreSQL sessions store: {reason}")


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
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self._pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={**CONNECTION_KWARGS, "row_factory": dict_row},
            timeout=connect_timeout_s,
            open=True,
        )
        self._lock_pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            dsn,
            min_size=0,
            max_size=max(pool_size, 8),
            kwargs=CONNECTION_KWARGS,
            timeout=connect_timeout_s,
            open=True,
        )
        self.locks = SessionLocks(self._lock_pool, timeout_s=lock_timeout_s)
        try:
            saver = _postgres_saver_class()(self._pool, self.locks)
            saver.setup()  # idempotent: creates or migrates the tables
            open_async = functools.partial(
                open_async_side,
                dsn,
                pool_size=pool_size,
                lock_timeout_s=lock_timeout_s,
                connect_timeout_s=connect_timeout_s,
            )
            self.checkpointer = DualSaver(saver, open_async)
        except _database_errors() as exc:
            self.close()
            raise _unusable(exc) from None
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

    def unreachable(self, timeout_s: float = 2.0) -> str | None:
        """What keeps the database from answering within ``timeout_s``, or None (deep health)."""
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection(timeout=timeout_s) as conn:
                conn.execute("SELECT 1").fetchone()
        except PoolTimeout:
            return f"no PostgreSQL connection within {timeout_s:g} s (sessions.dsn)"
        except _database_errors() as error:
            return str(_unusable(error))
        return None

    def close(self) -> None:
        try:
            self.locks.release_all()
        finally:
            self._lock_pool.close()
            self._pool.close()

    async def aclose(self) -> None:
        """Close the async side (on the loop that opened it); :meth:`close` the rest after."""
        await self.checkpointer.aclose()

    def __enter__(self) -> PostgresSessionStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
