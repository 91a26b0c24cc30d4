"""Exactly as many attempts as configured: never more than routes x max_attempts, and every one
of them while nothing answers (the retry budget and breakers start full), read from the
emulator's log."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.emulator import Emulator
from agentkit.errors import AgentkitError

from .conftest import HI, GatewayFactory, config

MATRIX: dict[str, dict[str, Any]] = {
    "throttle_storm": {"errors": [{"code": "ThrottlingException"}]},
    "503_burst": {"errors": [{"code": "ServiceUnavailableException", "first": 4}]},
    "500": {"errors": [{"code": "InternalServerException"}]},
    "model_timeout": {"errors": [{"code": "ModelTimeoutException"}]},
    "not_ready": {"errors": [{"code": "ModelNotReadyException", "rate": 0.7}]},
    "drop": {"errors": [{"code": "drop", "rate": 0.5}]},
    "stream_error": {"stream": {"error_after_events": 1}},
    "mixed": {
        "errors": [
            {"code": "ThrottlingException", "every": 2},
            {"code": "ServiceUnavailableException", "rate": 0.5},
        ]
    },
}


ALWAYS_FAILING = frozenset({"throttle_storm", "500", "model_timeout"})


@pytest.mark.parametrize("fault", sorted(MATRIX))
def test_attempts_per_call_never_exceed_routes_times_max_attempts(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory, fault: str
) -> None:
    bedrock_emulator.set_faults(
        {"seed": 11, "regions": dict.fromkeys(bedrock_emulator.endpoints, MATRIX[fault])}
    )
    cfg = config(bedrock_emulator)
    bound = len(cfg.models.routes) * cfg.resilience.retry.max_attempts
    gateway = make_gateway(cfg)
    for call in range(8):
        bedrock_emulator.clear_calls()
        try:
            if fault == "stream_error":
                list(gateway.converse_stream(messages=HI))
            else:
                gateway.converse(messages=HI)
        except AgentkitError:
            pass
        attempts = len(bedrock_emulator.calls())
        assert attempts <= bound  # later calls may make none: every breaker open
        if call == 0:
            assert attempts >= 1
            if fault in ALWAYS_FAILING:
                assert attempts == bound  # every route, every attempt: none skipped or lost
