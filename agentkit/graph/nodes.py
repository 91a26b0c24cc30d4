"""Graph nodes with a sync and an async callable: ``run`` calls one, ``arun`` awaits the other.

LangGraph runs a plain function node under ``astream`` in the event loop's default executor (a
thread per node run). :func:`node` gives it what to await instead: the node's own coroutine
(``afunc``, for a node that waits on a model or other I/O), or, when none is given, the
function itself called on the loop (for a node that only computes). :func:`inline` does the
same for a conditional edge's path function.

Both are LangGraph's ``RunnableCallable`` (``langgraph._internal``; present with this signature
from 1.0.1, the declared floor, to 1.2.24), the class LangGraph itself wraps plain node
functions in. The public ``langchain_core`` ``RunnableLambda(func, afunc=...)`` was tried in its
place: the graph tests and the run/arun span trees stayed the same, but it cannot turn off its
callback run (``trace=False``, which :func:`inline` uses so a branch adds no chain run) and it
re-inspects the function's signature on every call. A 7-step graph (node + branch each step)
took 2.0x as long per ``invoke`` and per ``ainvoke`` with it (1.8 ms -> 3.7 ms sync, 2.1 ms ->
4.4 ms async, median of 300 interleaved runs, langgraph 1.2.24, langchain-core 1.8.3), about
0.3 ms per step on top of the DR advisor's 1.6 ms per step (``python -m bench.runtime``).
If a LangGraph upgrade moves or renames the class, this import fails at once, in every test.
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
