from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.resilience.clock import FakeClock
from tests.scaleout.conftest import prefix, redis_url  # noqa: F401  (the Redis fixtures)

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
PRIMARY, SECONDARY, TERTIARY = "us-east-1", "us-west-2", "us-east-2"
HI = [{"role": "user", "content": [{"text": "hi"}]}]


def config(emu: Emulator, **sections: Any) -> AgentkitConfig:
    """The issue's contract config, pointed at the emulator, with short timeouts for tests."""
    base: dict[str, Any] = {
        "models": {
            "residency": "us",
            "routes": [
                {"model": SONNET, "region": PRIMARY},
                {"model": SONNET, "region": SECONDARY},
                {"model": NOVA, "region": TERTIARY},
            ],
            "endpoints": emu.endpoints,
        },
        "resilience": {
            # Long enough that a loaded machine never times out a healthy call; a black hole
            # costs this much per attempt.
            "timeouts": {"connect_s": 1.0, "read_s": 2.0},
            "retry": {
                "max_attempts": 3,
                "base_delay_s": 0.2,
                "max_delay_s": 5.0,
                "budget_ratio": 0.2,
            },
            "breaker": {"fail_max": 5, "reset_timeout_s": 30},
        },
        "limits": {"max_tokens": 256, "run_token_budget": 50000, "deadline_s": 120},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return AgentkitConfig.model_validate(base)


class GatewayFactory:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.clock = FakeClock()
        self.spans = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self._made: list[Gateway] = []

    def __call__(self, cfg: AgentkitConfig | None = None, **overrides: Any) -> Gateway:
        options: dict[str, Any] = {
            "clock": self.clock,
            "rng": random.Random(7),
            "tracer_provider": self.provider,
        }
        options.update(overrides)
        gateway = Gateway.from_config(cfg or config(self.emu), **options)
        self._made.append(gateway)
        return gateway

    def close(self) -> None:
        for gateway in self._made:
            gateway.close()
        self.provider.shutdown()


@pytest.fixture
def make_gateway(bedrock_emulator: Emulator) -> Iterator[GatewayFactory]:
    factory = GatewayFactory(bedrock_emulator)
    yield factory
    factory.close()


def calls_to(emu: Emulator, region: str) -> int:
    return sum(1 for c in emu.calls() if c.region == region)
