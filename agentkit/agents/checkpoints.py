"""Checkpointer building blocks for the session stores: one turn at a time, sync and async.

- :class:`TurnSerialised` and :class:`AsyncTurnSerialised` are mixins over a LangGraph saver:
  each run holds its session's turn lock from its read of the latest checkpoint to its last
  write (``agentkit.agents.sessions`` says why), through the saver's sync or async methods.
- :class:`DualSaver` is what a store hands to ``AgentRuntime``: its sync methods go to a sync
  saver (``run``, the CLI), its async ones to an async saver opened on the running event loop at
  the first async call (``arun``, ``agentkit serve``), so one compiled graph serves both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from agentkit.errors import AgentkitError
from agentkit.graph.context import CONFIG_KEY

LOCK_TIMEOUT_S = 120.0  # how long a turn waits for another process's turn to finish
POLL_S = (0.001, 0.01)  # first and longest wait between lock attempts


def pauses(timeout_s: float, monotonic: Callable[[], float] = time.monotonic) -> Iterator[float]:
    """The waits between tries of a turn lock: POLL_S[0], doubling up to POLL_S[1], until
    ``timeout_s`` has passed since this call (one deadline, set now, whatever the caller does
    before its first try). Every lock polls the same way::

        waits = pauses(timeout_s, monotonic)
        while not try_the_lock():
            pause = next(waits, None)
            if pause is None:
                raise busy  # waited timeout_s
            sleep(pause)  # or ``await anyio.sleep(pause)`` on the event loop
    """
    return _pauses_until(monotonic() + timeout_s, monotonic)


def _pauses_until(deadline: float, monotonic: Callable[[], float]) -> Iterator[float]:
    pause = POLL_S[0]
    while monotonic() < deadline:
        yield pause
        pause = min(pause * 2, POLL_S[1])


class SessionBusy(AgentkitError):
    """Another process has held the session (or the sessions database) for longer than
    LOCK_TIMEOUT_S."""


def ends_run(updated: Sequence[str] | None) -> bool:
    """True when a checkpoint triggers no node: nothing is left to run after it."""
    if updated is None:
        return False
    return not any(c == "__start__" or c.startswith(("branch:to:", "__pregel")) for c in updated)


def _run_starts(config: Any) -> str | None:
    """The session of a run's first read (the config carries agentkit's run context and names
    no checkpoint), else None."""
    configurable = config.get("configurable") or {}
    if CONFIG_KEY in configurable and not configurable.get("checkpoint_id"):
        return str(configurable["thread_id"])
    return None


class TurnSerialised:
    """A checkpointer mixin: each run holds its session's turn lock (``turn_locks``, with
    ``acquire(session)`` and ``release(session)``).

    A run starts with a read of the thread's latest checkpoint (the config then carries
    agentkit's run context) and ends with a checkpoint that schedules no further node. The
    lock is taken before that read and given back after that write; a run that stops early
    (error, interrupt) keeps it until the store is closed or the next run ends.
    """

    turn_locks: Any

    def get_tuple(self, config: Any) -> Any:
        session = _run_starts(config)
        if session is not None:
            self.turn_locks.acquire(session)
        return super().get_tuple(config)  # type: ignore[misc]

    def put(
        self,
        config: Any,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Any:
        saved = super().put(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        if ends_run(checkpoint.get("updated_channels")):
            self.turn_locks.release(str(config["configurable"]["thread_id"]))
        return saved


class AsyncTurnSerialised:
    """:class:`TurnSerialised` for an async saver: ``turn_locks`` has ``aacquire(session)``
    (waits without blocking the loop) and ``arelease(session)``."""

    turn_locks: Any

    async def aget_tuple(self, config: Any) -> Any:
        session = _run_starts(config)
        if session is not None:
            await self.turn_locks.aacquire(session)
        return await super().aget_tuple(config)  # type: ignore[misc]

    async def aput(
        self,
        config: Any,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Any:
        saved = await super().aput(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        if ends_run(checkpoint.get("updated_channels")):
            await self.turn_locks.arelease(str(config["configurable"]["thread_id"]))
        return saved


Closer = Callable[[], Awaitable[None]]
Opener = Callable[[], Awaitable[tuple[BaseCheckpointSaver[Any], Closer]]]


class DualSaver(BaseCheckpointSaver[Any]):
    """A sync saver for ``run`` and an async one for ``arun``, over the same store.

    ``open_async`` builds the async saver on the running loop and returns it with what closes
    it; it is called once, at the first async call (the schema is set up then). The async side
    belongs to that loop: :meth:`aclose` closes it, and another loop may then open its own.
    """

    def __init__(self, sync: BaseCheckpointSaver[Any], open_async: Opener) -> None:
        super().__init__(serde=sync.serde)
        self.sync = sync
        self._open_async = open_async
        self._async: BaseCheckpointSaver[Any] | None = None
        self._close_async: Closer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    async def asaver(self) -> BaseCheckpointSaver[Any]:
        """The async saver of the running loop, opened at the first call."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("the async sessions store belongs to another event loop; aclose it")
        if self._async is not None:
            return self._async
        if self._opening is None:
            self._loop, self._opening = loop, asyncio.Lock()
        async with self._opening:
            if self._async is None:
                self._async, self._close_async = await self._open_async()
        return self._async

    async def aclose(self) -> None:
        """Close the async saver, if one was opened (on the loop that opened it)."""
        close, self._close_async = self._close_async, None
        self._async, self._loop, self._opening = None, None, None
        if close is not None:
            await close()

    # --- sync: the sync saver ----------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.sync.get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self.sync.list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.sync.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.sync.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        self.sync.delete_thread(thread_id)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return self.sync.get_delta_channel_history(config=config, channels=channels)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.sync.get_next_version(current, channel)

    # --- async: the async saver of the running loop ------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await (await self.asaver()).aget_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        saver = await self.asaver()
        async for item in saver.alist(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await (await self.asaver()).aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await (await self.asaver()).aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await (await self.asaver()).adelete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        saver = await self.asaver()
        return await saver.aget_delta_channel_history(config=config, channels=channels)
