"""A local game day: your agentkit.yaml's fallback chain against the emulator under a fault plan.

Every route's Region is emulated on loopback, the configuration's endpoints are pointed at it,
and a number of requests go through the real gateway. The report says which Region answered each
request, what was tried first, and what the emulator saw: the proof that failover works before
a real Region fails.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentkit.config import AgentkitConfig
from agentkit.emulator.faults import FaultPlan
from agentkit.emulator.server import Emulator
from agentkit.errors import AgentkitError

PROMPT = [{"role": "user", "content": [{"text": "Game day: are you there?"}]}]


@dataclass
class RequestOutcome:
    number: int
    region: str | None
    model: str | None
    attempts: list[str]
    error: str | None
    latency_ms: float


@dataclass
class GameDayReport:
    plan: dict[str, Any]
    outcomes: list[RequestOutcome] = field(default_factory=list)
    calls_by_region: dict[str, int] = field(default_factory=dict)
    breakers: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(1 for o in self.outcomes if o.error is None)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "answered": self.answered,
            "requests": len(self.outcomes),
            "outcomes": [o.__dict__ for o in self.outcomes],
            "emulator_calls_by_region": self.calls_by_region,
            "breakers": self.breakers,
        }


def default_plan(config: AgentkitConfig) -> FaultPlan:
    """Without a plan: the first route's Region is down."""
    return FaultPlan.model_validate({"regions": {config.models.routes[0].region: {"down": True}}})


def run_game_day(config: AgentkitConfig, plan: FaultPlan | None, requests: int) -> GameDayReport:
    from agentkit.bedrock.gateway import Gateway

    plan = plan or default_plan(config)
    regions = sorted({r.region for r in config.models.routes} | set(plan.regions))
    report = GameDayReport(plan=plan.model_dump(mode="json", exclude_defaults=True))
    with Emulator(regions, plan=plan) as emulator:
        models = config.models.model_copy(update={"endpoints": emulator.endpoints})
        gateway = Gateway.from_config(config.model_copy(update={"models": models}))
        try:
            for number in range(1, requests + 1):
                report.outcomes.append(_one(gateway, number))
            report.breakers = gateway.breaker_states()
        finally:
            gateway.close()
        report.calls_by_region = dict(sorted(Counter(c.region for c in emulator.calls()).items()))
    return report


def _one(gateway: Any, number: int) -> RequestOutcome:
    started = time.perf_counter()
    try:
        response = gateway.converse(messages=PROMPT, max_tokens=64)
    except AgentkitError as error:
        attempts = getattr(error, "attempts", [])
        return RequestOutcome(
            number,
            None,
            None,
            [_describe(a) for a in attempts],
            f"{type(error).__name__}: {error}",
            _ms(started),
        )
    return RequestOutcome(
        number,
        response.region,
        response.model,
        [_describe(a) for a in response.attempts],
        None,
        _ms(started),
    )


def _describe(attempt: Any) -> str:
    return f"{attempt.region}:{attempt.error_code or attempt.outcome}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
