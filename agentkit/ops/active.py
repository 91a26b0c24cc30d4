"""What this process obeys: the control document as last read, re-read at most every ``poll_s``.

The runtime and the gateway ask :func:`current` at the start of a run, at each graph step and for
each model call. The first question after ``poll_s`` re-reads the document (one file read or one
``HGETALL``; other threads meanwhile get the last reading), so a change reaches every worker of a
fleet within ``poll_s`` of its next question, with no thread to run (``ask``, ``chat``). A
document that cannot be read keeps the last reading (logged once per outage, counted in
``agentkit.ops.read_failures``).

Under ``agentkit serve`` the question is asked on the event loop, where a read that waits (Redis
down until its socket timeout, AppConfig retrying a failing endpoint) would stall every request of
the worker. There :func:`refreshing` re-reads the document in a worker thread every ``poll_s``, and
:meth:`OverrideView.current` answers the last reading without any I/O while it runs.

Until a view is installed (:func:`install`, done by ``agentkit serve``, ``ask`` and ``chat``),
:func:`current` answers "no overrides" without any I/O.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

from agentkit.ops.document import NONE, Overrides
from agentkit.ops.store import OpsStore, OpsUnavailable
from agentkit.telemetry import providers

_log = logging.getLogger("agentkit.ops")
METRIC_ACTIVE = "agentkit.ops.override.active"
METRIC_CHANGES = "agentkit.ops.changes"
METRIC_READ_FAILURES = "agentkit.ops.read_failures"


class OverrideView:
    """One process's reading of the control document."""

    def __init__(
        self,
        store: OpsStore,
        *,
        poll_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self._monotonic = monotonic
        self._overrides = NONE
        self._read_at: float | None = None
        self._failing = False
        self._lock = threading.Lock()
        # True while :func:`refreshing` re-reads the document in the background: then
        # :meth:`current` answers the last reading and never reads itself.
        self.refreshed_in_background = False
        meter = providers.get_meter("agentkit.ops", meter_provider)
        meter.create_observable_gauge(
            METRIC_ACTIVE,
            callbacks=[self._observe],
            unit="1",
            description="Operator overrides this worker applies: 1 per active override key",
        )
        self._changes = meter.create_counter(
            METRIC_CHANGES,
            unit="{change}",
            description="Changes of the operator overrides this worker has applied",
        )
        self._failures = meter.create_counter(
            METRIC_READ_FAILURES,
            unit="{read}",
            description="Reads of the ops control document that failed (the last one is kept)",
        )

    def current(self) -> Overrides:
        """The overrides in force, re-read first when the last reading is ``poll_s`` old (while
        a background refresher runs, the last reading: no I/O, no lock)."""
        if self.refreshed_in_background:
            return self._overrides
        read_at = self._read_at
        if read_at is not None and self._monotonic() - read_at < self.poll_s:
            return self._overrides
        # The first reading is waited for; later ones are made by one thread while the others
        # go on with the last reading.
        if self._lock.acquire(blocking=read_at is None):
            try:
                if self._read_at is None or self._monotonic() - self._read_at >= self.poll_s:
                    self._refresh()
            finally:
                self._lock.release()
        return self._overrides

    def refresh(self) -> Overrides:
        """Read the document now."""
        with self._lock:
            self._refresh()
        return self._overrides

    def _refresh(self) -> None:
        self._read_at = self._monotonic()
        try:
            fresh = self.store.read()
        except OpsUnavailable as error:
            self.read_failed(str(error))
            return
        if self._failing:
            _log.info("operator overrides: the document is readable again")
        self._failing = False
        if fresh.fields() != self._overrides.fields():
            if fresh.active or self._overrides.active:
                _log.warning("operator overrides now: %s", fresh.summary() or "none")
            for key in set(fresh.fields()) | set(self._overrides.fields()):
                self._changes.add(1, {"key": _metric_key(key)})
        self._overrides = fresh

    def read_failed(self, reason: str) -> None:
        """A read failed: the last reading stands; counted, and logged once per outage."""
        self._failures.add(1)
        if not self._failing:
            _log.warning("operator overrides: %s; keeping the last reading", reason)
        self._failing = True

    def _observe(self, options: CallbackOptions) -> list[Observation]:
        fields = self._overrides.fields()
        return [Observation(1, {"key": _metric_key(k), "value": v}) for k, v in fields.items()]

    def close(self) -> None:
        self.store.close()


@contextlib.asynccontextmanager
async def refreshing(view: OverrideView | None) -> AsyncIterator[None]:
    """For the block (``agentkit serve``'s lifespan), ``view`` is re-read in a worker thread
    every ``poll_s`` and answers the last reading without I/O, so a slow or hanging document
    never stalls the event loop. The first reading is made before the block starts (the
    worker serves nothing before it has asked whether the kill switch is on; a store that
    answers "unavailable" leaves no overrides, as a library caller gets, and any other error
    fails the start). Later, a read that fails in any way keeps the last reading: counted in
    ``agentkit.ops.read_failures`` and logged once per outage, one line with the reason."""
    if view is None:
        yield
        return
    import anyio
    import anyio.to_thread

    async def refresh_every_poll() -> None:
        while True:
            await anyio.sleep(view.poll_s)
            try:
                # A read that hangs does not hold up shutdown: its thread is left to finish.
                await anyio.to_thread.run_sync(view.refresh, abandon_on_cancel=True)
            except Exception as error:
                # A store's bug must not end the loop: escaping, it would cancel serve's
                # lifespan (the advisor closed under a server that goes on serving, and the
                # view reading on the event loop again).
                view.read_failed(f"{type(error).__name__}: {error}")

    await anyio.to_thread.run_sync(view.refresh, abandon_on_cancel=True)
    view.refreshed_in_background = True
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(refresh_every_poll)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
    finally:
        view.refreshed_in_background = False


def _metric_key(key: str) -> str:
    return "tool" if key.startswith("tool.") else key


_installed: OverrideView | None = None


def current() -> Overrides:
    """The overrides this process obeys (none until a view is installed)."""
    view = _installed
    return NONE if view is None else view.current()


def install(view: OverrideView | None) -> OverrideView | None:
    """Make ``view`` the process's (None: none); returns the one it replaces."""
    global _installed
    previous, _installed = _installed, view
    return previous


@contextlib.contextmanager
def installed(view: OverrideView) -> Iterator[OverrideView]:
    """``view`` is the process's for the block (tests; one command's lifetime)."""
    previous = install(view)
    try:
        yield view
    finally:
        install(previous)
