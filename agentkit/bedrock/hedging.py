"""Hedged requests: when the first route is slow, race it against the next one.

Start the first route; if it has not answered within the hedge delay, start the second too and
take whichever answers first. Each leg goes through admission control like any request (no
headroom for the hedge: no hedge). The loser's result is discarded (a blocking boto3 call cannot
be interrupted; it ends at its own read timeout), recorded as abandoned, and its quota
reservation settled when it ends. On the event loop (:meth:`Hedger.arace`) the loser is a task,
cancelled at once, and its reservation given back as it unwinds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, TypeVar

from agentkit.bedrock.admission import SPILL, AdmissionGate, Answered
from agentkit.config import Route
from agentkit.errors import Action, ModelError

if TYPE_CHECKING:
    from agentkit.bedrock.attempts import CallContext

T = TypeVar("T")


class BothFailed(Exception):
    """The hedged pair failed (or the first leg had no headroom): the chain goes on after
    ``last`` with ``reason``; ``__cause__`` is the last leg's error."""

    def __init__(self, last: Route, reason: str) -> None:
        super().__init__(reason)
        self.last = last
        self.reason = reason


class Hedger:
    def __init__(self, delay_s: float, gate: AdmissionGate, workers: int = 8) -> None:
        self.delay_s = delay_s
        self._gate = gate
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="agentkit-hedge")

    def partner(self, routes: Sequence[Route], index: int, unusable: set[str]) -> Route | None:
        """The route that hedges ``routes[index]``: the next usable one, for the first route
        only."""
        later = [r for r in routes[index + 1 :] if r.model not in unusable]
        return later[0] if later and index == 0 else None

    def race(
        self, first: Route, second: Route, call: CallContext, run: Callable[[Route], T]
    ) -> Answered[T]:
        """The first answer of ``run(first)`` and, started after the delay, ``run(second)``.
        An error no route can fix is raised at once; one leg's error alone is raised as it
        is; both legs failing is :class:`BothFailed`."""
        gate = self._gate
        first_ticket = gate.admit(first, call)
        if first_ticket is SPILL:
            raise BothFailed(first, "no_headroom")
        running: dict[Future[Answered[T]], Route] = {
            self._pool.submit(gate.holding, first, first_ticket, run): first
        }
        done, _ = wait(running, timeout=self.delay_s)
        if not done:
            second_ticket = gate.admit(second, call)
            if second_ticket is not SPILL:
                call.recorder.hedged(first, second)
                running[self._pool.submit(gate.holding, second, second_ticket, run)] = second
        errors: list[BaseException] = []
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                error = future.exception()
                if error is None:
                    for loser, route in running.items():
                        call.recorder.abandoned(route)
                        loser.add_done_callback(gate.settle_abandoned)
                    return future.result()
                errors.append(_unless_final(error))
        raise _failed(errors, second)

    async def arace(
        self,
        first: Route,
        second: Route,
        call: CallContext,
        run: Callable[[Route], Awaitable[T]],
    ) -> Answered[T]:
        """:meth:`race` on the event loop, each leg a task; the loser is cancelled."""
        gate = self._gate
        first_ticket = gate.admit(first, call)
        if first_ticket is SPILL:
            raise BothFailed(first, "no_headroom")
        running = {asyncio.ensure_future(gate.aholding(first, first_ticket, run)): first}
        try:
            done, _ = await asyncio.wait(running, timeout=self.delay_s)
            if not done:
                second_ticket = gate.admit(second, call)
                if second_ticket is not SPILL:
                    call.recorder.hedged(first, second)
                    leg = asyncio.ensure_future(gate.aholding(second, second_ticket, run))
                    running[leg] = second
            errors: list[BaseException] = []
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    running.pop(task)
                    error = task.exception()
                    if error is None:
                        for route in running.values():
                            call.recorder.abandoned(route)
                        return task.result()
                    errors.append(_unless_final(error))
            raise _failed(errors, second)
        finally:
            for task in running:  # the loser, or both legs when the caller was cancelled
                task.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _unless_final(error: BaseException) -> BaseException:
    """``error``, unless no route can fix it: then it is raised at once."""
    if isinstance(error, ModelError) and error.action in (Action.STOP, Action.REDUCE_CONTEXT):
        raise error
    return error


def _failed(errors: list[BaseException], second: Route) -> BaseException:
    """What a race where no leg answered raises: one leg's error as it is, or
    :class:`BothFailed`."""
    if len(errors) == 1:
        return errors[0]
    last = errors[-1]
    failed = BothFailed(second, getattr(last, "code", type(last).__name__))
    failed.__cause__ = last
    return failed
