from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.emulator import Emulator

from .conftest import HI, PRIMARY, SECONDARY, SONNET, GatewayFactory


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, object], object]]]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[tuple[dict[str, object], object]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = getattr(point, "sum", None)
                    out.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return out


def test_token_usage_duration_and_breaker_state_metrics(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}}})
    gateway = make_gateway(meter_provider=provider)
    for _ in range(5):
        gateway.converse(messages=HI)
    metrics = points(reader)
    usage = {
        attrs["gen_ai.token.type"]: value for attrs, value in metrics["gen_ai.client.token.usage"]
    }
    assert usage == {"input": 5, "output": 40}  # five calls: 1 input and 8 output tokens each
    assert {attrs["cloud.region"] for attrs, _ in metrics["gen_ai.client.operation.duration"]} == {
        SECONDARY
    }
    states = {attrs["agentkit.route"]: value for attrs, value in metrics["agentkit.breaker.state"]}
    assert states[f"{SONNET}@{PRIMARY}"] == 2  # open
    assert states[f"{SONNET}@{SECONDARY}"] == 0  # closed
    provider.shutdown()


def test_admission_headroom_is_a_metric(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    from .conftest import TERTIARY, config

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    tpm = {PRIMARY: 10_000, SECONDARY: 10_000, TERTIARY: 10_000}
    cfg = config(bedrock_emulator, resilience={"admission": {"enabled": True, "tpm": tpm}})
    make_gateway(cfg, meter_provider=provider).converse(messages=HI)
    levels = {
        a["agentkit.route"]: v for a, v in points(reader)["agentkit.admission.available_tokens"]
    }
    assert levels[f"{SONNET}@{PRIMARY}"] == 10_000 - (1 + 8 * 5)  # settled: input + output x 5
    assert levels[f"{SONNET}@{SECONDARY}"] == 10_000
    provider.shutdown()
