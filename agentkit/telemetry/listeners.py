"""Breaker state into traces (an event on the current span) and metrics: a gauge per route, and a
counter of transitions, so an opening between two metric exports is never missed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import pybreaker
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from agentkit.telemetry import semconv as sc

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}


class HasBreakerStates(Protocol):
    def breaker_states(self) -> dict[str, str]: ...


class BreakerTelemetry(pybreaker.CircuitBreakerListener):
    def __init__(self, meter: Meter, owner: HasBreakerStates) -> None:
        self._owner = owner
        meter.create_observable_gauge(
            sc.METRIC_BREAKER_STATE,
            callbacks=[self._observe],
            description="Circuit breaker state per route: 0 closed, 1 half-open, 2 open",
        )
        self._transitions = meter.create_counter(
            sc.METRIC_BREAKER_TRANSITIONS,
            unit="{transition}",
            description="Circuit breaker state changes per route, by the state entered",
        )

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else "none"
        trace.get_current_span().add_event(
            sc.EVENT_BREAKER, {sc.ROUTE: str(cb.name), "from": old, "to": new_state.name}
        )
        self._transitions.add(1, {sc.ROUTE: str(cb.name), sc.BREAKER_TO: str(new_state.name)})

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        for route, state in self._owner.breaker_states().items():
            yield Observation(STATE_VALUES.get(state, -1), {sc.ROUTE: route})
