"""Streaming through the gateway.

An attempt reads the stream until its first content event (buffering what came before), so a
failure up to that point is retried or falls back like any other; after it, the caller has seen
content, and a failure becomes :class:`StreamInterrupted` saying how much was delivered.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from agentkit.bedrock.call import CallRecorder, account, answered
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


P = TypeVar("P", "Primed", "AsyncPrimed")


@dataclass
class Primed:
    buffered: list[dict[str, Any]]
    rest: Iterator[dict[str, Any]]
    source: Any  # botocore EventStream, closed when the caller stops early


@dataclass
class AsyncPrimed:
    buffered: list[dict[str, Any]]
    rest: AsyncIterator[dict[str, Any]]
    source: Any  # AsyncEventStream, closed (aclose) when the caller stops early


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


async def aprime_stream(response: dict[str, Any]) -> AsyncPrimed:
    """:func:`prime_stream` for an :class:`~agentkit.bedrock.async_client.AsyncEventStream`."""
    source = response["stream"]
    events = aiter(source)
    buffered = []
    try:
        async for event in events:
            buffered.append(event)
            if is_content_event(event):
                break
    except BaseException:
        await source.aclose()  # give the connection back before the retry
        raise
    return AsyncPrimed(buffered, events, source)


class _Stream(Generic[P]):
    """What a sync and an async stream share: the state of what was delivered, the
    interruption error, the response at the end and the settlement."""

    def __init__(
        self,
        owner: StreamOwner,
        primed: P,
        route: Route,
        recorder: CallRecorder,
        budget: RunBudget | None,
        started: float,
        ticket: Ticket | None = None,
    ) -> None:
        self._owner = owner
        self._primed: P = primed
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

    def _interrupted(self, exc: Exception) -> StreamInterrupted | None:
        """The error for a failure after content reached the caller; None when it is not a
        Bedrock failure (the caller's own bug, raised unchanged)."""
        error = self._owner.interrupted(self.route, exc)
        if error is None:
            return None
        state = self._state
        return StreamInterrupted(
            f"stream from {self.route.name} failed after {state.events} events "
            f"({state.chars} characters delivered): {error}",
            delivered_events=state.events,
            delivered_chars=state.chars,
            model_id=self.route.model,
            region=self.route.region,
            code=getattr(error, "code", ""),
        )

    def _ended(self) -> None:
        """The stream is over, read to its end or not: an unfinished one used nothing."""
        if self._response is None:
            self._owner.settle(self._ticket, None)
        self._recorder.span.end()

    def _finish(self) -> None:
        state = self._state
        self._response = ModelResponse(
            message=state.message(),
            stop_reason=state.stop_reason,
            usage=state.usage,
            region=self.route.region,
            model=self.route.model,
            attempts=answered(self._recorder.attempts, state.usage),
            service_tier=state.service_tier,
        )
        duration = time.perf_counter() - self._started
        self._owner.settle(self._ticket, self._response)
        account(self._response, self.route, self._budget, self._recorder, duration)


class GatewayStream(_Stream[Primed]):
    """Iterate for Converse stream events; ``response`` is complete once iteration ends."""

    def text(self) -> Iterator[str]:
        """Only the text deltas."""
        return (text for event in self if (text := _text_of(event)) is not None)

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
            self._primed.source.close()
            self._ended()

    def _rest(self) -> Iterator[dict[str, Any]]:
        try:
            for event in self._primed.rest:
                self._state.apply(event)
                yield event
        except Exception as exc:
            interrupted = self._interrupted(exc)
            if interrupted is None:
                raise
            raise interrupted from exc


class AsyncGatewayStream(_Stream[AsyncPrimed]):
    """``async for`` Converse stream events; ``response`` is complete once iteration ends."""

    def text(self) -> AsyncIterator[str]:
        """Only the text deltas."""
        return (text async for event in self if (text := _text_of(event)) is not None)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        try:
            for event in self._primed.buffered:
                self._state.apply(event)
                yield event
            async for event in self._rest():
                yield event
            self._finish()
        except AgentkitError as error:
            self._recorder.failed(error)
            raise
        finally:
            await self._primed.source.aclose()
            self._ended()

    async def _rest(self) -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in self._primed.rest:
                self._state.apply(event)
                yield event
        except Exception as exc:
            interrupted = self._interrupted(exc)
            if interrupted is None:
                raise
            raise interrupted from exc


def _text_of(event: dict[str, Any]) -> str | None:
    text: str | None = event.get("contentBlockDelta", {}).get("delta", {}).get("text")
    return text
