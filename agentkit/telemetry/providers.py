"""Which tracer and meter provider a component uses: explicit, else the command's, else global.

A library user passes providers in (``Gateway(tracer_provider=...)``), or installs global ones
(``opentelemetry.trace.set_tracer_provider``) and passes nothing: agentkit then uses the global
providers, which are no-ops until the application installs real ones. The ``agentkit`` CLI, which
owns its process, sets its providers for the duration of one command with :func:`scoped`, so
a command run twice in one process (tests, notebooks) gets its own exporters each time, which
the once-only global could not give.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import metrics, trace
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from agentkit._version import __version__

_lock = threading.Lock()
_scoped: list[tuple[TracerProvider | None, MeterProvider | None]] = []


def tracer_provider(explicit: TracerProvider | None = None) -> TracerProvider:
    if explicit is not None:
        return explicit
    with _lock:
        scoped = _scoped[-1][0] if _scoped else None
    return scoped or trace.get_tracer_provider()


def meter_provider(explicit: MeterProvider | None = None) -> MeterProvider:
    if explicit is not None:
        return explicit
    with _lock:
        scoped = _scoped[-1][1] if _scoped else None
    return scoped or metrics.get_meter_provider()


def get_tracer(name: str, explicit: TracerProvider | None = None) -> Tracer:
    """A tracer named for the agentkit component, with agentkit's version."""
    return tracer_provider(explicit).get_tracer(name, __version__)


def get_meter(name: str, explicit: MeterProvider | None = None) -> Meter:
    return meter_provider(explicit).get_meter(name, __version__)


@contextmanager
def scoped(
    tracer: TracerProvider | None = None, meter: MeterProvider | None = None
) -> Iterator[None]:
    """Components built inside this block without explicit providers use these ones (process
    wide, threads included). Nested scopes stack; leaving a scope restores the previous one."""
    entry = (tracer, meter)
    with _lock:
        _scoped.append(entry)
    try:
        yield
    finally:
        with _lock:
            _scoped.remove(entry)
