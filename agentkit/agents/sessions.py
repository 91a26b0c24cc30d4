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
(:class:`~agentkit.agents.sessions_postgres.PostgresSessionStore`, LangGraph's ``PostgresSaver``
over a connection pool, schema set up on first use), so any worker resumes any session. The
no-lost-turns guarantee holds there per session: a turn holds ``pg_advisory_lock`` keyed by the
session id, on a connection of its own, from its read of the latest checkpoint to its last write.
:func:`open_sessions` picks the store from configuration; psycopg is imported only when
PostgreSQL is configured.

Each store's ``checkpointer`` serves ``AgentRuntime.run`` and ``arun`` alike
(:class:`~agentkit.agents.checkpoints.DualSaver`): under ``arun`` the reads and writes go through
LangGraph's async savers (``AsyncSqliteSaver`` over aiosqlite, ``AsyncPostgresSaver`` over an
``AsyncConnectionPool``), opened on the event loop at the first async call, and the turn lock is
waited for without blocking the loop, with the same guarantee. ``aclose()`` closes that side.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agentkit.agents.checkpoints import (
    LOCK_TIMEOUT_S,
    AsyncTurnSerialised,
    Closer,
    DualSaver,
    SessionBusy,
    TurnSerialised,
    pauses,
)
from agentkit.agents.sessions_postgres import (
    AsyncSessionLocks,
    PostgresSessionStore,
    SessionLocks,
    advisory_key,
)
from agentkit.config import SessionsConfig, optional_module
from agentkit.errors import InputError

if TYPE_CHECKING:
    import aiosqlite


BUSY_TIMEOUT_S = 30.0  # SQLite's own wait for a brief lock


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
        waits = pauses(self.timeout_s, self._monotonic)
        while not self._try():
            pause = next(waits, None)
            if pause is None:
                raise self._busy()
            await anyio.sleep(pause)

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
            if not _flocked(fd):
                os.close(fd)
                return False
            self._fd = fd
            return True
        finally:
            self._mutex.release()

    def _wait(self, fd: int) -> None:
        waits = pauses(self.timeout_s, self._monotonic)
        while not _flocked(fd):
            pause = next(waits, None)
            if pause is None:
                raise self._busy()
            self._sleep(pause)

    def _busy(self) -> SessionBusy:
        return SessionBusy(
            f"{self.path.with_suffix('')}: busy: another agentkit process has held "
            f"the sessions database for {self.timeout_s:g} s"
        )


def _flocked(fd: int) -> bool:
    """Take ``fd``'s exclusive ``flock`` if it is free right now."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


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

    def unreachable(self) -> str | None:
        """What keeps the store from being read right now, or None (deep health)."""
        try:
            self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            return f"{self.path}: {error}"
        return None

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


# --- either store ------------------------------------------------------------------------------


class Sessions(Protocol):
    """What the CLI needs of a session store (SQLite or PostgreSQL)."""

    checkpointer: Any

    def sessions(self) -> list[str]: ...

    def unreachable(self) -> str | None: ...

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


__all__ = [
    "LOCK_TIMEOUT_S",
    "AsyncSessionLocks",
    "PostgresSessionStore",
    "SessionBusy",
    "SessionLocks",
    "SessionStore",
    "Sessions",
    "TurnLock",
    "advisory_key",
    "open_sessions",
]
