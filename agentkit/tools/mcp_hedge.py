"""Hedged MCP calls: a slow ``read_only`` or ``idempotent`` call raced on the fallback server.

When a server has ``hedge_after_s`` and its call has not answered by then, the same call starts
on the server's fallback too, and the first answer wins (``agentkit.mcp.hedge`` and
``agentkit.mcp.abandoned`` events on the call's span). The losing leg is not interrupted: it
ends at its own deadline, holding its slot until then, like a losing leg of the gateway's hedge.
A ``mutating`` tool is never hedged: the caller does not ask (see
:meth:`agentkit.tools.mcp_client.McpClient.call`).

Each leg records its span attributes and events on a :class:`Recorder`; the race copies them to
the call's span when it ends, so a losing leg that goes on afterwards cannot overwrite the
winner's outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from agentkit.errors import ToolFailed

Payload = dict[str, Any]


class SpanLike(Protocol):
    """What a call writes on its span (an OpenTelemetry span or a leg's :class:`Recorder`)."""

    def set_attribute(self, key: str, value: Any) -> Any: ...

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> Any: ...


class Recorder:
    """One leg's span attributes and events, kept until the race copies them to the span."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attributes: dict[str, Any] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []

    def set_attribute(self, key: str, value: Any) -> None:
        with self._lock:
            self.attributes[key] = value

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self.events.append((name, dict(attributes or {})))

    def copy_to(self, span: SpanLike, *, attributes: bool) -> None:
        with self._lock:
            for name, values in self.events:
                span.add_event(name, values)
            if attributes:
                for key, value in self.attributes.items():
                    span.set_attribute(key, value)


class HedgeFailed(ToolFailed):
    """Both legs of a hedged call failed: there is nothing left to try."""


Leg = Callable[[str, Recorder], Payload]  # the call on one server, recording on the recorder


class Hedger:
    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="agentkit-mcp-hedge")

    def race(
        self,
        delay_s: float,
        first: str,
        second: str,
        run: Leg,
        span: SpanLike,
        *,
        final: Callable[[BaseException], bool],
    ) -> Payload:
        """The first answer of ``run(first)`` and, started after ``delay_s``, ``run(second)``.

        An error the other server cannot fix (``final``) is raised at once; the first leg's
        error before the hedge started is raised as it is (the caller's fallback applies);
        both legs failing is :class:`HedgeFailed`."""
        legs = {first: Recorder()}
        running: dict[Future[Payload], str] = {self._pool.submit(run, first, legs[first]): first}
        done, _ = wait(running, timeout=delay_s)
        if not done:
            legs[first].add_event("agentkit.mcp.hedge", {"from": first, "to": second})
            legs[second] = Recorder()
            running[self._pool.submit(run, second, legs[second])] = second
        errors: dict[str, BaseException] = {}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                server = running.pop(future)
                error = future.exception()
                if error is None:
                    _settle(span, legs, server, running.values())
                    return future.result()
                errors[server] = error
                if final(error):
                    _settle(span, legs, server, running.values())
                    raise error
        last = next(reversed(errors))
        _settle(span, legs, last, ())
        if len(errors) == 1:
            raise errors[last]
        message = f"{errors[first]}; hedged on mcp server {second}: {errors[second]}"
        raise HedgeFailed(message) from errors[second]

    def close(self) -> None:
        """Wait for the legs still running (the caller ends their sessions first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _settle(
    span: SpanLike, legs: Mapping[str, Recorder], decided_by: str, abandoned: Iterable[str]
) -> None:
    """Copy every leg's events to the span, then the attributes of the leg that decided."""
    for server, leg in legs.items():
        leg.copy_to(span, attributes=server == decided_by)
    for server in abandoned:
        span.add_event("agentkit.mcp.abandoned", {"server": server})
