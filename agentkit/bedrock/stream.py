"""Streaming through the gateway.

An attempt reads the stream until its first content event (buffering what came before), so a
failure up to that point is retried or falls back like any other; after it, the caller has seen
content, and a failure becomes :class:`StreamInterrupted` saying how much was delivered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from agentkit.bedrock.call import CallRecorder, account
from agentkit.bedrock.types import ModelResponse, StreamState, is_content_event
from agentkit.config import Route
from agentkit.errors import AgentkitError, StreamInterrupted
from agentkit.resilience.admission import Ticket
from agentkit.resilience.budget import RunBudget


class StreamOwner(Protocol):
    """What a stream reports to the gateway that opened it: the whole seam between the two."""

    def settle(self, ticket: Ticket | None, response: ModelResponse | None) -> None:
        """Settle the stream's quota reservation on its usage, or on nothing (``None``)."""

    def interrupted(self, route: Route, exc: BaseException) -> AgentkitError | None:
        """A failure after content reached the caller: counted against the route's breaker
        and translated; None when it is not Bedrock's failure (the caller's own bug)."""


@dataclass
class Primed:
    buffered: list[dict[str, Any]]
    rest: Iterator[dict[str, Any]]
    source: Any  # botocore EventStream, closed when the caller stops early


def prime_stream(response: dict[str, Any]) -> Primed:
    """Read up to and including the first content event."""
    source = response["stream"]
    events = iter(source)
    buffered = []
    try:
        for event in events:
            buffered.append(event)
            if is_content_event(event):
                break
    except BaseException:
        source.close()  # give the connection back before the retry
        raise
    return Primed(buffered, events, source)


class GatewayStream:
    """Iterate for Converse stream events; ``response`` is complete once iteration ends."""

    def __init__(
        self,
        owner: StreamOwner,
        primed: Primed,
        route: Route,
        recorder: CallRecorder,
        budget: RunBudget | None,
        started: float,
        ticket: Ticket | None = None,
    ) -> None:
        self._owner = owner
        self._primed = primed
        self.route = route
        self._recorder = recorder
        self._budget = budget
        self._started = started
        self._ticket = ticket
        self._response: ModelResponse | None = None
        self._state = StreamState()

    @property
    def response(self) -> ModelResponse:
        if self._response is None:
            raise RuntimeError("the stream has not been read to its end yet")
        return self._response

    def text(self) -> Iterator[str]:
        """Only the text deltas."""
        for event in self:
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta:
                yield delta["text"]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for event in self._primed.buffered:
                self._state.apply(event)
                yield event
            yield from self._rest()
            self._finish()
        except AgentkitError as error:
            self._recorder.failed(error)
            raise
        finally:
            if self._response is None:
                self._owner.settle(self._ticket, None)
            self._primed.source.close()
            self._recorder.span.end()

    def _rest(self) -> Iterator[dict[str, Any]]:
        try:
            for event in self._primed.rest:
                self._state.apply(event)
                yield event
        except Exception as exc:
            error = self._owner.interrupted(self.route, exc)
            if error is None:  # not a Bedrock failure: the caller's own bug, unchanged
                raise
            state = self._state
            raise StreamInterrupted(
                f"stream from {self.route.name} failed after {state.events} events "
                f"({state.chars} characters delivered): {error}",
                delivered_events=state.events,
                delivered_chars=state.chars,
                model_id=self.route.model,
                region=self.route.region,
                code=getattr(error, "code", ""),
            ) from exc

    def _finish(self) -> None:
        state = self._state
        self._response = ModelResponse(
            message=state.message(),
            stop_reason=state.stop_reason,
            usage=state.usage,
            region=self.route.region,
            model=self.route.model,
            attempts=tuple(self._recorder.attempts),
            service_tier=state.service_tier,
        )
        duration = time.perf_counter() - self._started
        self._owner.settle(self._ticket, self._response)
        account(self._response, self.route, self._budget, self._recorder, duration)
