"""Deep health: can the capability answer from here? Safe as a Route 53 or ARC health target.

One canary probe per route (the cheapest request, no fallback, one attempt), read together with
what the serving worker knows: a route answers when its probe succeeds and its circuit breaker
is not open (an open breaker sends every request past the route until it half-opens), and the
capability needs the backends it cannot answer without (the session store). The capability is
healthy while at least one route of its chain answers and those backends are reachable: one
dead route is the fallback chain's business, not a reason to evacuate the Region. Backends the
worker can do without (shared resilience state on Redis falls back to local state) are reported,
never a reason to be unhealthy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.bedrock.canary import CanaryResult, CanaryRun

OPEN = "open"


@dataclass(frozen=True)
class Backend:
    """A backend as the health check found it: ``problem`` is None when it is reachable."""

    name: str
    problem: str | None
    required: bool = True


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    routes: tuple[CanaryResult, ...]
    breakers: Mapping[str, str] | None = None  # route -> breaker state, where the worker has them
    backends: tuple[Backend, ...] = ()

    def to_json(self) -> dict[str, Any]:
        breakers = self.breakers or {}
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "reason": self.reason,
            "routes": [
                {
                    "route": r.route,
                    "ok": r.ok,
                    "error_type": r.error_type,
                    "latency_s": r.latency_s,
                    "last_success": r.last_success,
                    **({"breaker": breakers[r.route]} if r.route in breakers else {}),
                }
                for r in self.routes
            ],
            "backends": [
                {
                    "name": b.name,
                    "ok": b.problem is None,
                    "required": b.required,
                    "detail": b.problem,
                }
                for b in self.backends
            ],
        }


def deep_health(
    run: CanaryRun,
    *,
    breakers: Mapping[str, str] | None = None,
    backends: Sequence[Backend] = (),
) -> Health:
    routes = tuple(run.results)
    states = breakers or {}
    answering = [r for r in routes if r.ok and states.get(r.route) != OPEN]
    down = [b for b in backends if b.required and b.problem is not None]
    verdict = tuple(backends)
    if down:
        why = "; ".join(f"{b.name}: {b.problem}" for b in down)
        return Health(False, f"cannot answer without {why}", routes, breakers, verdict)
    if answering:
        dead = len(routes) - len(answering)
        reason = f"{answering[0].route} answers"
        if dead:
            reason += f"; {dead} of {len(routes)} route(s) down, the chain falls back"
        return Health(True, reason, routes, breakers, verdict)
    why = "; ".join(_describe(r, states) for r in routes) or "no route configured"
    return Health(False, f"no route answers: {why}", routes, breakers, verdict)


def _describe(result: CanaryResult, states: Mapping[str, str]) -> str:
    if result.ok and states.get(result.route) == OPEN:
        return f"{result.route}: probe ok, but its circuit breaker is open"
    return result.describe()
