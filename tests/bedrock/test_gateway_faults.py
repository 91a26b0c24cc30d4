"""Fault-injection tests of the gateway against the emulator: every resilience claim, proven.

Each test asserts both the behaviour the caller sees and what the emulator's call log saw.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.emulator import Emulator
from agentkit.errors import (
    AllRoutesFailed,
    BudgetExceeded,
    ConfigError,
    ModelRejected,
    StreamInterrupted,
)
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.retry import RetryBudget

from .conftest import (
    HI,
    NOVA,
    PRIMARY,
    SECONDARY,
    SONNET,
    TERTIARY,
    GatewayFactory,
    calls_to,
    config,
)

ALWAYS = {"first": 10_000}


def faults(emu: Emulator, **regions: Any) -> None:
    emu.set_faults({"seed": 1, "regions": regions})


def errors(code: str, **trigger: Any) -> dict[str, Any]:
    return {"errors": [{"code": code, **(trigger or ALWAYS)}]}


def test_healthy_call_uses_the_primary_once(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    response = make_gateway().converse(messages=HI, max_tokens=256)
    assert (response.region, response.model, response.stop_reason) == (PRIMARY, SONNET, "end_turn")
    assert response.usage.input_tokens == 1
    assert response.usage.output_tokens > 0
    assert [a.outcome for a in response.attempts] == ["ok"]
    assert [c.attempt for c in bedrock_emulator.calls()] == [1]  # botocore retries are off


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
    ],
)
def test_transient_burst_is_retried_on_the_same_route(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory, code: str
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors(code, first=2)})
    gateway = make_gateway()
    response = gateway.converse(messages=HI)
    assert response.region == PRIMARY
    assert [a.error_code for a in response.attempts] == [code, code, None]
    assert calls_to(bedrock_emulator, PRIMARY) == 3
    assert 0 < sum(make_gateway.clock.slept) <= 0.2 + 0.4  # full jitter within base x 2^(n-1)


def test_throttle_storm_falls_back_after_max_attempts(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ThrottlingException")})
    response = make_gateway().converse(messages=HI)
    assert response.region == SECONDARY
    assert calls_to(bedrock_emulator, PRIMARY) == 3
    assert calls_to(bedrock_emulator, SECONDARY) == 1


def test_throttle_storm_opens_the_breaker_and_stops_hitting_the_primary(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ThrottlingException")})
    gateway = make_gateway()
    answered = [gateway.converse(messages=HI).region for _ in range(10)]
    assert answered == [SECONDARY] * 10  # every request still answered
    assert calls_to(bedrock_emulator, PRIMARY) == 5  # fail_max, then the breaker is open
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "open"


def test_region_down_moves_on_without_retrying(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"down": True}})
    response = make_gateway().converse(messages=HI)
    assert response.region == SECONDARY
    assert [(a.region, a.error_code) for a in response.attempts] == [
        (PRIMARY, "ConnectionRefused"),
        (SECONDARY, None),
    ]
    assert calls_to(bedrock_emulator, PRIMARY) == 0  # refused: nothing reached it


def test_black_hole_costs_one_read_timeout_then_falls_back(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})
    response = make_gateway().converse(messages=HI)
    assert response.region == SECONDARY
    assert [a.error_code for a in response.attempts] == ["ReadTimeout", None]
    assert calls_to(bedrock_emulator, PRIMARY) == 1


def test_dropped_connection_is_retried(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("drop", first=1)})
    response = make_gateway().converse(messages=HI)
    assert response.region == PRIMARY
    assert [a.error_code for a in response.attempts] == ["ConnectionClosed", None]
    assert calls_to(bedrock_emulator, PRIMARY) == 2


def test_access_denied_in_one_region_moves_on_at_once_without_tripping(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("AccessDeniedException")})
    gateway = make_gateway()
    for _ in range(6):
        assert gateway.converse(messages=HI).region == SECONDARY
    assert calls_to(bedrock_emulator, PRIMARY) == 6  # once per call, never retried
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "closed"


def test_validation_exception_is_one_call_no_retry_no_fallback_no_trip(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ValidationException")})
    gateway = make_gateway()
    for _ in range(6):
        with pytest.raises(ModelRejected):
            gateway.converse(messages=HI)
    assert len(bedrock_emulator.calls()) == 6
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "closed"


def test_every_route_down_raises_one_error_with_every_attempt(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(
        bedrock_emulator,
        **{
            PRIMARY: {"down": True},
            SECONDARY: errors("ServiceUnavailableException"),
            TERTIARY: {"down": True},
        },
    )
    with pytest.raises(AllRoutesFailed) as caught:
        make_gateway().converse(messages=HI)
    seen = [(a.region, a.error_code) for a in caught.value.attempts]
    assert seen == [(PRIMARY, "ConnectionRefused")] + [
        (SECONDARY, "ServiceUnavailableException")
    ] * 3 + [(TERTIARY, "ConnectionRefused")]


def test_half_open_probe_recovers_the_primary(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ServiceUnavailableException")})
    gateway = make_gateway()
    gateway.converse(messages=HI)
    gateway.converse(messages=HI)  # 3 + 2 failures: the breaker opens at fail_max = 5
    primary = f"{SONNET}@{PRIMARY}"
    assert gateway.breaker_states()[primary] == "open"
    bedrock_emulator.set_faults({})  # the Region heals, but the breaker is still open...
    bedrock_emulator.clear_calls()
    assert gateway.converse(messages=HI).region == SECONDARY
    assert calls_to(bedrock_emulator, PRIMARY) == 0
    make_gateway.clock.advance(30.1)  # ...until the reset timeout passes: one probe
    assert gateway.converse(messages=HI).region == PRIMARY
    assert gateway.breaker_states()[primary] == "closed"


def test_failed_half_open_probe_reopens(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ServiceUnavailableException")})
    gateway = make_gateway()
    gateway.converse(messages=HI)
    gateway.converse(messages=HI)
    make_gateway.clock.advance(30.1)
    bedrock_emulator.clear_calls()
    assert gateway.converse(messages=HI).region == SECONDARY
    assert calls_to(bedrock_emulator, PRIMARY) == 1  # exactly one probe, no retries through it
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "open"


def test_retry_budget_exhausted_stops_retrying_process_wide(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(
        bedrock_emulator,
        **{
            PRIMARY: errors("ServiceUnavailableException"),
            SECONDARY: errors("ServiceUnavailableException"),
        },
    )
    budget = RetryBudget(ratio=0.0, initial=2)
    gateway = make_gateway(retry_budget=budget)
    gateway.converse(messages=HI)  # answered by the tertiary route
    # 2 retries in the budget: primary gets 1 try + 2 retries, secondary only its first try.
    assert calls_to(bedrock_emulator, PRIMARY) == 3
    assert calls_to(bedrock_emulator, SECONDARY) == 1
    assert budget.denied == 1


def test_retry_after_header_is_honoured(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {
            "regions": {
                PRIMARY: {
                    "errors": [{"code": "ThrottlingException", "first": 1, "retry_after_ms": 2500}]
                }
            }
        }
    )
    assert make_gateway().converse(messages=HI).region == PRIMARY
    assert make_gateway.clock.slept == [2.5]


def test_deadline_stops_retries(bedrock_emulator: Emulator, make_gateway: GatewayFactory) -> None:
    faults(
        bedrock_emulator,
        **{
            PRIMARY: errors("ThrottlingException"),
            SECONDARY: errors("ThrottlingException"),
            TERTIARY: errors("ThrottlingException"),
        },
    )
    cfg = config(
        bedrock_emulator,
        limits={"deadline_s": 0.01},
        resilience={"retry": {"max_attempts": 5, "base_delay_s": 1.0, "max_delay_s": 5.0}},
    )
    with pytest.raises(AllRoutesFailed):
        make_gateway(cfg).converse(messages=HI)
    assert (
        len(bedrock_emulator.calls()) == 3
    )  # one try per route: every backoff would pass the deadline


def test_run_budget_stops_a_run(bedrock_emulator: Emulator, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    budget = RunBudget(BudgetLimits(model_calls=2))
    gateway.converse(messages=HI, budget=budget)
    gateway.converse(messages=HI, budget=budget)
    with pytest.raises(BudgetExceeded) as caught:
        gateway.converse(messages=HI, budget=budget)
    assert caught.value.kind == "model_calls"
    tokens = RunBudget(BudgetLimits(tokens=5))
    gateway.converse(messages=HI, budget=tokens)
    with pytest.raises(BudgetExceeded, match="tokens"):
        gateway.converse(messages=HI, budget=tokens)
    assert len(bedrock_emulator.calls()) == 3


def test_mid_stream_error_before_content_is_retried_transparently(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {PRIMARY: {"models": {SONNET: {"stream": {"error_after_events": 1}}}}}}
    )
    stream = make_gateway().converse_stream(messages=HI)
    text = "".join(stream.text())
    assert text.endswith("hi")
    # each primary attempt died after messageStart, before any content: retried, then fallback
    assert [a.error_code for a in stream.response.attempts] == ["ThrottlingException"] * 3 + [None]
    assert stream.response.region == SECONDARY


def test_mid_stream_error_after_content_is_a_typed_interruption(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"stream": {"error_after_events": 3}}})
    stream = make_gateway().converse_stream(
        messages=[
            {
                "role": "user",
                "content": [{"text": "tell me about pilot light and warm standby strategies"}],
            }
        ]
    )
    delivered = []
    with pytest.raises(StreamInterrupted) as caught:
        delivered.extend(stream.text())
    assert caught.value.delivered_events == 3
    assert caught.value.delivered_chars == len("".join(delivered)) > 0
    assert caught.value.code == "ThrottlingException"
    assert len(bedrock_emulator.calls()) == 1  # content had reached the caller: no retry


def test_hedging_takes_the_faster_route_and_abandons_the_slow_one(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    # The primary never answers (no race on the machine's speed): the hedge must win.
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})
    cfg = config(
        bedrock_emulator,
        resilience={
            "hedge": {"enabled": True, "delay_s": 0.05},
            "timeouts": {"connect_s": 1, "read_s": 5},
        },
    )
    response = make_gateway(cfg).converse(messages=HI)
    assert response.region == SECONDARY
    assert [(a.region, a.outcome) for a in response.attempts] == [
        (SECONDARY, "ok"),
        (PRIMARY, "abandoned"),
    ]


def test_hedging_is_not_used_when_the_primary_answers_in_time(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(bedrock_emulator, resilience={"hedge": {"enabled": True, "delay_s": 2.0}})
    assert make_gateway(cfg).converse(messages=HI).region == PRIMARY
    assert [c.region for c in bedrock_emulator.calls()] == [PRIMARY]


def test_guardrail_parity_skips_regions_without_the_guardrail(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"down": True}})
    cfg = config(
        bedrock_emulator, guardrails={PRIMARY: {"id": "default"}, TERTIARY: {"id": "default"}}
    )
    response = make_gateway(cfg).converse(messages=HI)
    assert response.region == TERTIARY
    assert response.model == NOVA
    assert (SECONDARY, "skipped", "NoGuardrailInRegion") in [
        (a.region, a.outcome, a.error_code) for a in response.attempts
    ]


def test_residency_violation_is_refused_at_load(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(
        bedrock_emulator,
        models={
            "routes": [
                {"model": SONNET, "region": PRIMARY},
                {"model": "eu.amazon.nova-pro-v1:0", "region": "eu-west-1"},
            ]
        },
    )
    with pytest.raises(
        ConfigError, match=r"models.routes\[1\] \(eu.amazon.nova-pro-v1:0@eu-west-1\)"
    ):
        make_gateway(cfg)


def test_access_denied_everywhere_is_all_routes_failed(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(
        bedrock_emulator,
        **{r: errors("AccessDeniedException") for r in (PRIMARY, SECONDARY, TERTIARY)},
    )
    with pytest.raises(AllRoutesFailed) as caught:
        make_gateway().converse(messages=HI)
    assert [a.error_code for a in caught.value.attempts] == ["AccessDeniedException"] * 3
    assert len(bedrock_emulator.calls()) == 3
