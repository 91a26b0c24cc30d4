"""Breaker state into traces (an event on the current span) and metrics: a gauge per route, and a
counter of transitions, so an opening between two metric exports is never missed.

The gateway's model routes report as ``agentkit.breaker.*`` (attribute ``agentkit.route``), the
tool registry's tools as ``agentkit.tool.breaker.*`` (attribute ``gen_ai.tool.name``): apart, so
an alarm on one never fires for the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import pybreaker
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from agentkit.telemetry import semconv as sc

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}


@dataclass(frozen=True)
class BreakerNames:
    """The instruments and the attribute one family of breakers reports under."""

    state: str  # the gauge: 0 closed, 1 half-open, 2 open
    transitions: str  # the counter of state changes, by the state entered
    key: str  # the attribute naming the breaker
    prefix: str = ""  # taken off a breaker's name for that attribute ("tool:")
    what: str = "route"
    regional: bool = False  # the name is a route's (``model@region#tier``): add ``cloud.region``

    def name(self, breaker: str) -> str:
        return breaker.removeprefix(self.prefix)

    def attributes(self, breaker: str) -> dict[str, str]:
        """The breaker's name and, for a model route, its Region: an alarm deployed in a Region
        watches that Region's routes only (an open fallback route elsewhere must not evacuate
        the Region it serves)."""
        named = {self.key: self.name(breaker)}
        if self.regional:
            named[sc.CLOUD_REGION] = route_region(breaker)
        return named


def route_region(route_name: str) -> str:
    """The Region of a route named as :attr:`agentkit.config.Route.name` names it."""
    return route_name.rsplit("@", 1)[-1].split("#", 1)[0]


MODEL_ROUTES = BreakerNames(
    sc.METRIC_BREAKER_STATE, sc.METRIC_BREAKER_TRANSITIONS, sc.ROUTE, regional=True
)
TOOLS = BreakerNames(
    sc.METRIC_TOOL_BREAKER_STATE,
    sc.METRIC_TOOL_BREAKER_TRANSITIONS,
    sc.TOOL_NAME,
    prefix="tool:",
    what="tool",
)


class HasBreakerStates(Protocol):
    def breaker_states(self) -> dict[str, str]: ...


class BreakerTelemetry(pybreaker.CircuitBreakerListener):
    def __init__(
        self, meter: Meter, owner: HasBreakerStates, names: BreakerNames = MODEL_ROUTES
    ) -> None:
        self._owner = owner
        self._names = names
        meter.create_observable_gauge(
            names.state,
            callbacks=[self._observe],
            description=f"Circuit breaker state per {names.what}: 0 closed, 1 half-open, 2 open",
        )
        self._transitions = meter.create_counter(
            names.transitions,
            unit="{transition}",
            description=f"Circuit breaker state changes per {names.what}, by the state entered",
        )

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else "none"
        named = self._names.attributes(str(cb.name))
        event = {self._names.key: named[self._names.key], "from": old, "to": new_state.name}
        trace.get_current_span().add_event(sc.EVENT_BREAKER, event)  # its span has the Region
        self._transitions.add(1, {**named, sc.BREAKER_TO: str(new_state.name)})

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        for breaker, state in self._owner.breaker_states().items():
            named = self._names.attributes(breaker)
            yield Observation(STATE_VALUES.get(state, -1), named)
