"""The gateway's side of admission control: a ticket before each attempt on a route, settled after.

The buckets are :mod:`agentkit.resilience.admission`'s; this module decides what a call
reserves (its input tokens, estimated the way Bedrock counts them, and its ``max_tokens``) and
makes sure every reservation is settled once: on the usage of a response, on nothing when the
call failed, on what a losing hedge leg used when it ends. A route without headroom is
:data:`SPILL`: the chain moves on to the next route before Bedrock throttles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.bedrock.types import ModelRequest, ModelResponse, Usage
from agentkit.config import Route
from agentkit.resilience.admission import Admission, Ticket
from agentkit.telemetry import semconv as sc

if TYPE_CHECKING:
    from agentkit.bedrock.attempts import CallContext

T = TypeVar("T")
Answered = tuple[T, Route, Ticket | None]  # a result, the route that gave it, its reservation
DEFAULT_RESERVED_OUTPUT = 4096  # Bedrock reserves the model maximum when max_tokens is unset


class Spill:
    """The route has no quota headroom now: try the next one."""


SPILL = Spill()


class AdmissionGate:
    """Admission control for the gateway's calls; every method is a no-op without it."""

    def __init__(
        self,
        admission: Admission | None,
        converse_kwargs: Callable[[ModelRequest, Route], dict[str, Any]],
    ) -> None:
        self.admission = admission
        self._converse_kwargs = converse_kwargs

    def admit(self, route: Route, call: CallContext) -> Ticket | Spill | None:
        """A ticket, None (no admission control on this route), or :data:`SPILL` (no headroom
        now: recorded as skipped)."""
        if self.admission is None or not self.admission.controls(route.name):
            return None
        request, recorder = call.request, call.recorder
        ticket = self.admission.try_admit(
            route.name, self._input_tokens(request, route), _reserved_output(request)
        )
        if ticket is None:
            recorder.skipped(route, "NoHeadroom")
            recorder.span.add_event(
                sc.EVENT_ADMISSION, {sc.ROUTE: route.name, "decision": "spilled"}
            )
            return SPILL
        return ticket

    def holding(
        self, route: Route, ticket: Ticket | Spill | None, run: Callable[[Route], T]
    ) -> Answered[T]:
        """Run ``route`` under ``ticket``; a failed call used nothing and gives it back."""
        held = ticket if isinstance(ticket, Ticket) else None
        try:
            return run(route), route, held
        except BaseException:
            self.settle(held, None)
            raise

    async def aholding(
        self, route: Route, ticket: Ticket | Spill | None, run: Callable[[Route], Awaitable[T]]
    ) -> Answered[T]:
        """:meth:`holding` for a coroutine; a cancelled call (a losing hedge leg) gives its
        ticket back too."""
        held = ticket if isinstance(ticket, Ticket) else None
        try:
            return await run(route), route, held
        except BaseException:
            self.settle(held, None)
            raise

    def wait(self, spilled: Sequence[Route], call: CallContext) -> tuple[Route, Ticket]:
        """Every route was at its quota: wait (bounded, by priority) for headroom on one of
        ``spilled``; :class:`~agentkit.resilience.admission.AdmissionRejected` when none comes."""
        assert self.admission is not None
        request = call.request
        call.recorder.span.add_event(
            sc.EVENT_ADMISSION, {"decision": "queued", "priority": request.priority}
        )
        ticket = self.admission.wait_admit(
            [r.name for r in spilled],
            self._input_tokens(request, spilled[0]),
            _reserved_output(request),
            request.priority,
        )
        return next(r for r in spilled if r.name == ticket.route), ticket

    def settle(self, ticket: Ticket | None, response: ModelResponse | None) -> None:
        """Settle on the response's usage, or on nothing (``None``: the call failed)."""
        if ticket is None or self.admission is None:
            return
        if response is None:
            self.admission.settle(ticket)
        else:
            self.admission.settle(ticket, response.usage.input_tokens, response.usage.output_tokens)

    def settle_abandoned(self, future: Future[Answered[Any]]) -> None:
        """A hedge leg that lost, once it ends: release what it reserved (a failed leg settled
        already)."""
        if future.cancelled() or future.exception() is not None:
            return
        result, _, ticket = future.result()
        if ticket is None or self.admission is None:
            return
        raw = result if isinstance(result, dict) else {}
        if "usage" not in raw:  # a primed stream: nothing used that can be counted
            self.admission.settle(ticket)
            return
        usage = Usage.from_wire(raw["usage"])
        self.admission.settle(ticket, usage.input_tokens, usage.output_tokens)

    def _input_tokens(self, request: ModelRequest, route: Route) -> int:
        return converse_input_tokens(self._converse_kwargs(request, route))


def _reserved_output(request: ModelRequest) -> int:
    return request.max_tokens or DEFAULT_RESERVED_OUTPUT
