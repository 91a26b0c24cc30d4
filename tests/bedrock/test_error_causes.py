"""Error causes against the emulator's named faults (issue 20): a spent daily quota, a legacy
lockout, a policy deny and an unoffered tier each cost one attempt, say what to fix, and never
open a breaker on a healthy route."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.emulator import Emulator

from .conftest import (
    HI,
    PRIMARY,
    SECONDARY,
    SONNET,
    TERTIARY,
    GatewayFactory,
    calls_to,
    config,
)


def fault(emu: Emulator, name: str, region: str = PRIMARY) -> None:
    emu.set_faults({"seed": 1, "regions": {region: {"errors": [{"code": name}]}}})


def test_a_spent_daily_quota_moves_on_at_once_and_cools_the_route_down(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    fault(bedrock_emulator, "daily_quota")
    gateway = make_gateway()
    first = gateway.converse(messages=HI)
    assert first.region == SECONDARY
    assert [a.error_code for a in first.attempts] == ["ThrottlingException", None]
    assert calls_to(bedrock_emulator, PRIMARY) == 1
    assert make_gateway.clock.slept == []  # no backoff: a daily quota does not come back soon
    for _ in range(3):
        assert gateway.converse(messages=HI).region == SECONDARY
    assert calls_to(bedrock_emulator, PRIMARY) == 1  # cooling down
    make_gateway.clock.advance(3599)
    gateway.converse(messages=HI)
    assert calls_to(bedrock_emulator, PRIMARY) == 1
    bedrock_emulator.set_faults({})  # the day reset
    make_gateway.clock.advance(2)
    assert gateway.converse(messages=HI).region == PRIMARY


@pytest.mark.parametrize(
    ("name", "fix", "serves"),
    [
        # the model itself is the problem: the next route with another model serves
        ("legacy_model", "route to its successor", TERTIARY),
        ("needs_inference_profile", "use its profile ID", TERTIARY),
        # the route is the problem: the next Region serves
        ("policy_deny", "explicit deny blocks this route", SECONDARY),
        ("tier_not_offered", "does not offer the route's service_tier", SECONDARY),
        ("model_not_in_region", "not offered in this Region", SECONDARY),
    ],
)
def test_a_configuration_defect_is_one_attempt_that_names_the_fix(
    bedrock_emulator: Emulator,
    make_gateway: GatewayFactory,
    name: str,
    fix: str,
    serves: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault(bedrock_emulator, name)
    gateway = make_gateway()
    response = gateway.converse(messages=HI)
    assert response.region == serves
    assert calls_to(bedrock_emulator, PRIMARY) == 1
    primary = gateway.routes[0].name
    assert fix in gateway.disabled[primary]
    assert fix in caplog.text  # an error-level log line names it
    assert set(gateway.breaker_states().values()) == {"closed"}  # no breaker opened
    for _ in range(3):
        gateway.converse(messages=HI)
    assert calls_to(bedrock_emulator, PRIMARY) == 1  # the route stays out for the process


def test_a_legacy_model_skips_every_route_of_that_model(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    """The lockout is per account and model, not per Region: the next route with the same model
    is not tried; the route with another model serves."""
    rules: dict[str, Any] = {"errors": [{"code": "legacy_model"}]}
    bedrock_emulator.set_faults({"regions": {PRIMARY: rules}})
    response = make_gateway().converse(messages=HI)
    assert response.model.startswith("us.amazon.nova")
    assert calls_to(bedrock_emulator, SECONDARY) == 0


def test_a_route_with_a_service_tier_sends_it_and_the_span_records_what_was_used(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(
        bedrock_emulator,
        models={
            "routes": [
                {"model": SONNET, "region": PRIMARY, "service_tier": "flex", "latency": "optimized"}
            ]
        },
    )
    gateway = make_gateway(cfg)
    response = gateway.converse(messages=HI)
    (call,) = bedrock_emulator.calls()
    assert (call.service_tier, call.latency) == ("flex", "optimized")  # on the wire
    assert response.service_tier == "flex"  # what the service reported
    (span,) = [s for s in make_gateway.spans.get_finished_spans() if s.name.startswith("chat")]
    assert (span.attributes or {})["aws.bedrock.service_tier"] == "flex"
    stream = gateway.converse_stream(messages=HI)
    list(stream)
    assert stream.response is not None
    assert stream.response.service_tier == "flex"


def test_a_chain_may_step_tiers_before_it_changes_region(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {PRIMARY: {"errors": [{"code": "tier_not_offered", "first": 1}]}}}
    )
    routes = [
        {"model": SONNET, "region": PRIMARY, "service_tier": "priority"},
        {"model": SONNET, "region": PRIMARY, "service_tier": "default"},
        {"model": SONNET, "region": SECONDARY},
    ]
    gateway = make_gateway(config(bedrock_emulator, models={"routes": routes}))
    assert len({r.name for r in gateway.routes}) == 3  # one breaker per tier
    response = gateway.converse(messages=HI)
    assert (response.region, response.service_tier) == (PRIMARY, "default")
    calls = bedrock_emulator.calls()
    assert [c.region for c in calls] == [PRIMARY, PRIMARY]  # priority refused, default served
    assert calls[1].service_tier == "default"
