"""Deep health: can the capability answer from here? Safe as a Route 53 or ARC health target.

One canary probe per route (the cheapest request, no fallback, one attempt). The capability is
healthy while at least one route of its chain answers: one dead route is the fallback chain's
business, not a reason to evacuate the Region. It is unhealthy only when no route answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.bedrock.canary import CanaryResult, CanaryRun


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    routes: tuple[CanaryResult, ...]

    def to_json(self) -> dict[str, Any]:
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
                }
                for r in self.routes
            ],
        }


def deep_health(run: CanaryRun) -> Health:
    answering = [r for r in run.results if r.ok]
    routes = tuple(run.results)
    if answering:
        dead = len(routes) - len(answering)
        reason = f"{answering[0].route} answers"
        if dead:
            reason += f"; {dead} of {len(routes)} route(s) down, the chain falls back"
        return Health(True, reason, routes)
    why = "; ".join(r.describe() for r in routes) or "no route configured"
    return Health(False, f"no route answers: {why}", routes)
