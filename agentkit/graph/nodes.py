"""Graph nodes with a sync and an async callable: ``run`` calls one, ``arun`` awaits the other.

LangGraph runs a plain function node under ``astream`` in the event loop's default executor (a
thread per node run). :func:`node` gives it what to await instead: the node's own coroutine
(``afunc``, for a node that waits on a model or other I/O), or, when none is given, the
function itself called on the loop (for a node that only computes). :func:`inline` does the
same for a conditional edge's path function.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph._internal._runnable import RunnableCallable


def node(
    func: Callable[..., Any],
    afunc: Callable[..., Awaitable[Any]] | None = None,
    *,
    name: str | None = None,
) -> RunnableCallable:
    """A node for ``StateGraph.add_node``: ``func`` under ``run``; under ``arun``, ``afunc``
    (same arguments), or ``func`` on the event loop when there is no ``afunc``: give one for
    anything that waits."""
    return RunnableCallable(func, afunc or _on_the_loop(func), name=name or _name(func))


def inline(path: Callable[..., Any]) -> RunnableCallable:
    """A conditional edge's path function, called on the event loop under ``arun``."""
    return RunnableCallable(path, _on_the_loop(path), name=_name(path), trace=False)


def _on_the_loop(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return call


def _name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else type(func).__name__
