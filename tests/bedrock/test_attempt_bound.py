"""Never more attempts than configured: routes x max_attempts, read from the emulator's log."""

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
    for _ in range(8):
        bedrock_emulator.clear_calls()
        try:
            if fault == "stream_error":
                list(gateway.converse_stream(messages=HI))
            else:
                gateway.converse(messages=HI)
        except AgentkitError:
            pass
        assert len(bedrock_emulator.calls()) <= bound
