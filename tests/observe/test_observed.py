"""The alarms on events agentkit records watch agentkit's metrics; the signal alarms that stay
are the ones about what agentkit cannot see (application stores, AWS Health, declarations,
user reports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.config import load_config
from agentkit.observe import observed
from agentkit.observe.alarms import SIGNAL_METRIC
from agentkit.observe.build import build_stack
from agentkit.observe.model import Stack, api_requests
from agentkit.runbooks import load_all

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "capacity-nova-pro.yaml"
# The team's: what agentkit never observes. A runbook alarm moving to an agentkit metric (or a
# new one) changes this list on purpose.
TEAMS = {
    "agent-memory-errors",  # AgentCore Memory calls the application makes
    "assets-get-success-rate",
    "aurora-writer-unavailable",
    "aws-health-regional-event",
    "az-outlier",
    "bedrock-model-legacy",  # ListFoundationModels lifecycle or an AWS Health notice
    "cache-primary-unavailable",
    "carts-write-success-rate",
    "ddb-system-errors",
    "failback-window-open",  # a person's decision
    "handoff-queue-wait",  # the team's handoff queue
    "orders-cache-hit-rate",
    "orders-canary-success-rate",  # the application's own canary
    "orders-secret-fetch-success-rate",
    "orders-write-success-rate",
    "partition-unavailable",
    "planned-region-maintenance",
    "rds-primary-unavailable",
    "region-declared-lost",
    "s3-5xx-high",
    "secrets-source-unavailable",
    "servers-unreachable",
    "user-false-refusals",  # user reports
}


@pytest.fixture(scope="module")
def stack() -> Stack:
    return build_stack(load_config(EXAMPLE, check_residency=False), load_all())


def watched(props: dict[str, Any]) -> set[str]:
    names = {props["MetricName"]} if "MetricName" in props else set()
    return names | {
        q["MetricStat"]["Metric"]["MetricName"]
        for q in props.get("Metrics", [])
        if "MetricStat" in q
    }


def test_the_signal_alarms_left_are_the_teams(stack: Stack) -> None:
    signals = {a.name for a in stack.alarms if watched(a.props) == {SIGNAL_METRIC}}
    assert signals == TEAMS


@pytest.mark.parametrize("name", sorted(observed.WATCHES))
def test_each_observed_alarm_watches_an_agentkit_metric(stack: Stack, name: str) -> None:
    props = stack.by_name[name].props
    metrics = watched(props) - {SIGNAL_METRIC}
    assert metrics
    assert all(m.startswith("agentkit.") for m in metrics), metrics
    if SIGNAL_METRIC in watched(props):  # agentkit's event and the team's detector, together
        assert name == "anomalous-tool-calls"
        assert "agentkit cannot judge" in props["AlarmDescription"]


def test_the_guardrail_alarms_filter_on_every_attribute_the_counter_carries(stack: Stack) -> None:
    for name in ("injection-detections", "guardrail-block-rate-high"):
        for query in stack.by_name[name].props["Metrics"]:
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("MetricName") == "agentkit.guardrail.events":
                assert {d["Name"] for d in metric["Dimensions"]} == {
                    observed.GUARD,
                    observed.ACTION,
                    observed.KIND,
                }


def test_baseline_alarms_are_above_an_anomaly_band_of_an_expression(stack: Stack) -> None:
    requests = {
        r["AlarmName"]: r for op, r in api_requests(stack, "us-east-1", {}) if "AlarmName" in r
    }
    for name in ("agent-degraded-answers", "injection-detections", "guardrail-block-rate-high"):
        request = requests[name]
        assert request["ThresholdMetricId"] == "band"
        band = next(q for q in request["Metrics"] if q["Id"] == "band")
        assert band["Expression"] == "ANOMALY_DETECTION_BAND(value, 2)"
        assert json.dumps(request).count('"ReturnData": true') == 2


def test_the_model_route_breaker_and_the_tool_breakers_are_apart(stack: Stack) -> None:
    assert watched(stack.by_name["bedrock-route-breaker-open"].props) == {"agentkit.breaker.state"}
    assert watched(stack.by_name["tool-breaker-open"].props) == {"agentkit.tool.breaker.state"}


def test_a_route_breaker_alarm_watches_its_own_regions_routes_only(stack: Stack) -> None:
    # Deployed in us-east-1, it evacuates us-east-1 (bedrock-region-evacuation): an open
    # breaker on a us-west-2 fallback route must not fire it.
    for region in ("us-east-1", "us-west-2"):
        requests = {
            r["AlarmName"]: r for _, r in api_requests(stack, region, {}) if "AlarmName" in r
        }
        alarm = requests["bedrock-route-breaker-open"]
        assert alarm["Dimensions"] == [{"Name": "cloud.region", "Value": region}]


def test_a_route_breaker_reports_its_region_beside_its_name() -> None:
    import pybreaker
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from agentkit.telemetry.listeners import BreakerTelemetry

    route = "us.amazon.nova-pro-v1:0@us-west-2#flex"
    breaker = pybreaker.CircuitBreaker(fail_max=1, name=route)

    class Owner:
        def breaker_states(self) -> dict[str, str]:
            return {route: breaker.current_state}

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    breaker.add_listener(BreakerTelemetry(meter, Owner()))
    with pytest.raises(pybreaker.CircuitBreakerError):  # the failure that opens it
        breaker.call(lambda: 1 / 0)
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [dict(p.attributes or {}) for p in metric.data.data_points]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    expected = {"agentkit.route": route, "cloud.region": "us-west-2"}
    assert points["agentkit.breaker.state"] == [expected]
    assert [{k: p[k] for k in expected} for p in points["agentkit.breaker.transitions"]] == [
        expected
    ]
