"""A bulkhead per tool: its own workers, its own concurrency limit and its own queue.

One tool cannot starve another: each tool's handlers run on that tool's own daemon worker
threads, at most ``max_concurrent`` at a time, with at most ``max_queue`` calls waiting behind
them; a call beyond that is refused at once (:class:`~agentkit.errors.ToolBusy`) instead of
waiting for a timeout it cannot meet. A call that times out while still queued is withdrawn and
never runs. A handler that cannot be cancelled keeps its slot until it returns, so a hung tool
uses up its own share and nothing more; it is asked to stop through :func:`cancelled`, which
handlers that loop or wait may check (cooperative cancellation).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from agentkit.errors import ToolBusy

_current = threading.local()


def cancelled() -> threading.Event:
    """The cancel signal of the tool call running on this thread (set when its caller gave up).

    Outside a bulkhead worker it is a fresh event that is never set.
    """
    event = getattr(_current, "cancel", None)
    return event if isinstance(event, threading.Event) else threading.Event()


@dataclass(frozen=True)
class BulkheadPolicy:
    max_concurrent: int = 4  # handlers of this tool running at once
    max_queue: int = 16  # calls of this tool waiting for a worker

    def __post_init__(self) -> None:
        if self.max_concurrent < 1 or self.max_queue < 0:
            raise ValueError("a bulkhead needs max_concurrent >= 1 and max_queue >= 0")


@dataclass(frozen=True)
class BulkheadStats:
    running: int
    queued: int
    abandoned: int  # running although their caller timed out (a handler that ignores cancel)
    rejected: int  # refused because the bulkhead was full, since it was created


class Call:
    """One submitted call: its future and its cancel signal."""

    def __init__(self, fn: Callable[[Any], Any], argument: Any) -> None:
        self.fn = fn
        self.argument = argument
        self.future: Future[Any] = Future()
        self.cancel = threading.Event()
        self.started = False
        self.abandoned = False
        self.withdrawn = False  # its slot was given back: once, however many callers gave up

    @classmethod
    def finished(cls, output: Any) -> Call:
        """A call that already ran (its result was stored): nothing to submit, ``output`` ready."""
        call = cls(_never_runs, None)
        call.future.set_result(output)
        return call


class Bulkhead:
    def __init__(self, name: str, policy: BulkheadPolicy | None = None) -> None:
        self.name = name
        self.policy = policy or BulkheadPolicy()
        self._queue: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._admitted = 0  # queued + running
        self._running = 0
        self._abandoned = 0
        self._rejected = 0
        self._workers: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[[Any], Any], argument: Any) -> Call:
        """Queue ``fn(argument)`` on this tool's workers, or raise :class:`ToolBusy`."""
        capacity = self.policy.max_concurrent + self.policy.max_queue
        with self._lock:
            if self._closed:
                raise ToolBusy(f"{self.name}: the tool registry is closed")
            if self._admitted >= capacity:
                self._rejected += 1
                raise ToolBusy(
                    f"{self.name} is at its concurrency limit ({self.policy.max_concurrent} "
                    f"running, {self.policy.max_queue} queued); try again later"
                )
            self._admitted += 1
            if len(self._workers) < min(self._admitted, self.policy.max_concurrent):
                self._spawn()
        call = Call(fn, argument)
        self._queue.put(call)
        return call

    def give_up(self, call: Call) -> bool:
        """The caller stopped waiting: withdraw the call if it has not started (True), else
        ask the handler to stop and count it as abandoned until it returns (False)."""
        call.cancel.set()
        # Several callers may wait on one call (a mutating call's idempotency key) and each may
        # give up: ``cancel`` answers True to every one of them, but only the first gives the
        # slot back. (The future is cancelled outside the lock: its done callbacks take other
        # locks, which are held while ``submit`` takes this one.)
        if call.future.cancel():  # still queued: its slot is free now; the worker skips it
            with self._lock:
                if not call.withdrawn:
                    call.withdrawn = True
                    self._admitted -= 1
            return True
        with self._lock:
            if call.started and not call.future.done() and not call.abandoned:
                call.abandoned = True  # the worker uncounts it when the handler returns
                self._abandoned += 1
        return False

    def stats(self) -> BulkheadStats:
        with self._lock:
            return BulkheadStats(
                running=self._running,
                queued=self._admitted - self._running,
                abandoned=self._abandoned,
                rejected=self._rejected,
            )

    def close(self) -> None:
        """Stop the idle workers; a hung handler's thread is a daemon and never blocks exit."""
        with self._lock:
            self._closed = True
            workers = len(self._workers)
        for _ in range(workers):
            self._queue.put(None)

    def _spawn(self) -> None:
        worker = threading.Thread(
            target=self._work,
            name=f"agentkit-tool-{self.name}-{len(self._workers)}",
            daemon=True,
        )
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while (call := self._queue.get()) is not None:
            if not call.future.set_running_or_notify_cancel():
                continue  # withdrawn by give_up, which freed its slot
            with self._lock:
                self._running += 1
                call.started = True
            _current.cancel = call.cancel
            try:
                call.future.set_result(call.fn(call.argument))
            except BaseException as exc:  # handed to the caller, whatever it is
                call.future.set_exception(exc)
            finally:
                _current.cancel = None
                self._finished(call)

    def _finished(self, call: Call) -> None:
        with self._lock:
            self._admitted -= 1
            self._running -= 1
            if call.abandoned:
                self._abandoned -= 1


def _never_runs(argument: Any) -> Any:
    raise AssertionError("a finished call is never submitted")
