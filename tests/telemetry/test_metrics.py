"""Gateway metrics through the SDK: a command's scoped meter provider, read in memory."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig, TelemetryConfig
from agentkit.emulator import Emulator
from agentkit.errors import AllRoutesFailed
from agentkit.resilience.clock import FakeClock
from agentkit.telemetry.setup import start

MODEL = "us.amazon.nova-pro-v1:0"
HI = [{"role": "user", "content": [{"text": "hi"}]}]


def config(emulator: Emulator) -> AgentkitConfig:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": emulator.endpoints,
                "routes": [
                    {"model": MODEL, "region": "us-east-1"},
                    {"model": MODEL, "region": "us-west-2"},
                ],
            },
            "resilience": {
                "timeouts": {"connect_s": 1.0, "read_s": 2.0},
                "retry": {"max_attempts": 2, "base_delay_s": 0.01, "max_delay_s": 0.01},
                "breaker": {"fail_max": 5, "reset_timeout_s": 30},
            },
        }
    )


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = getattr(point, "count", None)
                    out.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return out


@pytest.mark.emulator(regions=["us-east-1", "us-west-2"])
def test_requests_retries_fallbacks_and_duration_are_exported(
    bedrock_emulator: Emulator,
) -> None:
    reader = InMemoryMetricReader()
    telemetry = start(TelemetryConfig(), metric_readers=[reader])
    bedrock_emulator.set_faults(
        {"regions": {"us-east-1": {"errors": [{"code": "ThrottlingException"}]}}}
    )
    with telemetry.scope():  # what the CLI does around a command: no provider passed below
        gateway = Gateway.from_config(config(bedrock_emulator), clock=FakeClock())
    try:
        gateway.converse(messages=HI)
    finally:
        gateway.close()
    metrics = points(reader)
    port = int(bedrock_emulator.endpoints["us-west-2"].rsplit(":", 1)[1])
    ((duration, calls),) = metrics["gen_ai.client.operation.duration"]
    assert calls == 1
    assert duration["gen_ai.operation.name"] == "chat"
    assert duration["gen_ai.provider.name"] == "aws.bedrock"
    assert duration["gen_ai.request.model"] == MODEL
    assert duration["cloud.region"] == "us-west-2"
    assert (duration["server.address"], duration["server.port"]) == ("127.0.0.1", port)
    ((request, count),) = metrics["agentkit.gateway.requests"]
    assert (request["agentkit.outcome"], count) == ("ok", 1)
    ((retry, retries),) = metrics["agentkit.gateway.retries"]
    assert retry["error.type"] == "ThrottlingException"
    assert retry["cloud.region"] == "us-east-1"
    assert retries == 1  # two attempts on the primary: one retry, then the fallback
    ((fallback, fallbacks),) = metrics["agentkit.gateway.fallbacks"]
    assert (fallback["agentkit.reason"], fallbacks) == ("ThrottlingException", 1)
    attempts = {
        (a["cloud.region"], a["agentkit.outcome"]): n
        for a, n in metrics["agentkit.gateway.attempts"]
    }
    assert attempts == {("us-east-1", "error"): 2, ("us-west-2", "ok"): 1}
    telemetry.shutdown()


@pytest.mark.emulator(regions=["us-east-1", "us-west-2"])
def test_a_failed_call_is_counted_with_its_error_type(bedrock_emulator: Emulator) -> None:
    reader = InMemoryMetricReader()
    telemetry = start(TelemetryConfig(), metric_readers=[reader])
    bedrock_emulator.set_faults(
        {"regions": {r: {"down": True} for r in bedrock_emulator.endpoints}}
    )
    with telemetry.scope():
        gateway = Gateway.from_config(config(bedrock_emulator), clock=FakeClock())
    with contextlib.suppress(AllRoutesFailed):
        gateway.converse(messages=HI)
    gateway.close()
    metrics = points(reader)
    ((request, count),) = metrics["agentkit.gateway.requests"]
    assert (request["agentkit.outcome"], request["error.type"], count) == (
        "error",
        "AllRoutesFailed",
        1,
    )
    ((duration, _),) = metrics["gen_ai.client.operation.duration"]
    assert duration["error.type"] == "AllRoutesFailed"
    assert "gen_ai.client.token.usage" not in metrics
    telemetry.shutdown()
