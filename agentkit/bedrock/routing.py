"""The route chain: which routes a call may use, what a call looks like on each, and their breakers.

A route is passed over when its model was found unusable earlier in the call (``NEXT_MODEL``),
when it was disabled for the process (a configuration defect), or, with guardrails configured,
when its Region has none (parity: failover must not drop a guardrail). Each route has one
breaker, looked up by route.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pybreaker

from agentkit.bedrock.types import ModelRequest
from agentkit.config import GuardrailRef, Route
from agentkit.errors import DailyQuotaExhausted, ModelError
from agentkit.ops import active as ops
from agentkit.ops.document import ATTRIBUTE as OPS_ATTRIBUTE
from agentkit.resilience.breaker import BreakerPolicy, BreakerStore, RouteBreaker
from agentkit.resilience.clock import Clock
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.metrics import GatewayMetrics

if TYPE_CHECKING:
    from agentkit.bedrock.call import CallRecorder

_log = logging.getLogger("agentkit.gateway")


class RouteChain:
    """The routes in order, a breaker per route, the routes disabled for the process and the
    guardrail each Region's calls carry."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        policy: BreakerPolicy,
        clock: Clock,
        store: BreakerStore,
        listeners: Sequence[pybreaker.CircuitBreakerListener],
        guardrails: Mapping[str, GuardrailRef],
        metrics: GatewayMetrics,
    ) -> None:
        self.routes = tuple(routes)
        self.guardrails = dict(guardrails)
        self.disabled: dict[str, str] = {}  # route name -> why (a configuration defect)
        self.breakers = {
            r.name: RouteBreaker(r.name, policy, clock, store, listeners) for r in self.routes
        }
        self._metrics = metrics

    def breaker(self, route: Route) -> RouteBreaker:
        return self.breakers[route.name]

    def states(self) -> dict[str, str]:
        return {name: breaker.state for name, breaker in self.breakers.items()}

    def eligible(self, request: ModelRequest, recorder: CallRecorder) -> tuple[Route, ...]:
        """The routes this request may use, in order: only those an operator's pin names (when
        it names any), and with guardrails configured, a Region without one is no valid fallback
        (recorded as skipped)."""
        routes = self._pinned(recorder)
        if not self.guardrails:
            return routes
        return tuple(r for r in routes if self._guardrail_allows(r, request, recorder))

    def _pinned(self, recorder: CallRecorder) -> tuple[Route, ...]:
        """The routes the operator's pin (``agentkit ops set pin=...``) allows; a pin that names
        no route of this chain is ignored, said on the span (a pin never takes every route)."""
        overrides = ops.current()
        if overrides.active:
            recorder.span.set_attribute(OPS_ATTRIBUTE, overrides.summary())
        if overrides.pin is None:
            return self.routes
        pinned = tuple(r for r in self.routes if overrides.pins(r.model, r.region, r.name))
        if not pinned:
            recorder.span.add_event("agentkit.ops.pin_ignored", {"pin": overrides.pin})
            return self.routes
        return pinned

    def skip_reason(self, route: Route, unusable_models: set[str]) -> str | None:
        """Why this call must pass the route over, or None when it may try it."""
        if route.model in unusable_models:
            return "ModelUnsupported"
        if route.name in self.disabled:
            return "RouteDisabled"
        return None

    def take_out(self, route: Route, error: ModelError, recorder: CallRecorder) -> None:
        """A spent daily quota cools the route down; a configuration defect (a policy deny, a
        model the route cannot serve) disables it for the process, loudly."""
        breaker = self.breaker(route)
        if isinstance(error, DailyQuotaExhausted):
            breaker.cool_down(breaker.policy.daily_quota_cooldown_s)
        elif error.disables_route and route.name not in self.disabled:
            self.disabled[route.name] = str(error)
            recorder.span.add_event(
                sc.EVENT_ROUTE_DISABLED,
                {sc.ROUTE: route.name, sc.ERROR_TYPE: type(error).__name__, "reason": str(error)},
            )
            self._metrics.routes_disabled.add(
                1, {sc.ROUTE: route.name, sc.ERROR_TYPE: type(error).__name__}
            )
            _log.error("route %s disabled for this process: %s", route.name, error)

    def converse_kwargs(
        self, request: ModelRequest, route: Route, stream: bool = False
    ) -> dict[str, Any]:
        """The Converse (or ConverseStream) parameters of this request on this route."""
        kwargs = request.to_converse(route.model)
        clamp = ops.current().max_tokens  # the operator's max_tokens clamp (agentkit ops set)
        if clamp is not None:
            config = kwargs.setdefault("inferenceConfig", {})
            config["maxTokens"] = min(config.get("maxTokens") or clamp, clamp)
        if route.service_tier:
            kwargs["serviceTier"] = {"type": route.service_tier}
        if route.latency:
            kwargs["performanceConfig"] = {"latency": route.latency}
        ref = self.guardrails.get(route.region)
        if ref is not None and request.guardrail is None:
            kwargs["guardrailConfig"] = {
                "guardrailIdentifier": ref.id,
                "guardrailVersion": ref.version,
            }
            if stream:  # the guardrail checks each chunk before it is sent, not after
                kwargs["guardrailConfig"]["streamProcessingMode"] = "sync"
        return kwargs

    def _guardrail_allows(
        self, route: Route, request: ModelRequest, recorder: CallRecorder
    ) -> bool:
        if request.guardrail is not None or route.region in self.guardrails:
            return True
        recorder.skipped(route, "NoGuardrailInRegion")
        return False
