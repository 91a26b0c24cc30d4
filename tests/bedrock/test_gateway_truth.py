"""The gateway tells the truth fast: a caller's bug is not an outage, a failure says where and
why, and a black-holed or slow Region is skipped after two timeouts, not fail_max."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.emulator import Emulator
from agentkit.errors import AllRoutesFailed, RegionUnreachable

from .conftest import HI, PRIMARY, SECONDARY, TERTIARY, GatewayFactory, calls_to, config


def faults(emu: Emulator, **regions: Any) -> None:
    emu.set_faults({"seed": 1, "regions": regions})


def test_a_key_error_in_a_request_hook_reaches_the_caller_after_one_attempt(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    raised: list[int] = []

    def broken_hook(**_: Any) -> None:
        raised.append(1)
        raise KeyError("tenant")

    client = gateway.clients.client(PRIMARY)
    client.meta.events.register("before-call.bedrock-runtime.Converse", broken_hook)
    with pytest.raises(KeyError, match="tenant"):
        gateway.converse(messages=HI)
    assert raised == [1]  # one attempt, no retry, no fallback
    assert set(gateway.breaker_states().values()) == {"closed"}
    assert bedrock_emulator.calls() == []


def test_all_routes_failed_names_every_attempt_and_chains_the_cause(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{r: {"down": True} for r in (PRIMARY, SECONDARY, TERTIARY)})
    with pytest.raises(AllRoutesFailed) as failed:
        make_gateway().converse(messages=HI)
    message = str(failed.value)
    assert message.startswith("all routes failed after 3 attempt(s): us-east-1 ")
    for region in (PRIMARY, SECONDARY, TERTIARY):
        assert f"{region} " in message
    assert message.count("ConnectionRefused after") == 3
    assert isinstance(failed.value.__cause__, RegionUnreachable)
    assert failed.value.__cause__.region == TERTIARY


def test_a_black_holed_region_is_skipped_after_two_timeouts(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})
    gateway = make_gateway()  # fail_max 5: the slow rule opens first
    regions = [gateway.converse(messages=HI).region for _ in range(6)]
    assert regions == [SECONDARY] * 6
    assert calls_to(bedrock_emulator, PRIMARY) == 2
    assert gateway.breaker_states()[gateway.routes[0].name] == "open"


def test_slow_successes_open_the_breaker_when_a_threshold_is_set(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"latency_ms": 150}})
    cfg = config(bedrock_emulator, resilience={"breaker": {"slow_call_s": 0.05}})
    gateway = make_gateway(cfg)
    regions = [gateway.converse(messages=HI).region for _ in range(4)]
    assert regions == [PRIMARY, PRIMARY, SECONDARY, SECONDARY]  # answered, but slowly


def test_fast_successes_end_a_slow_streak(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})
    gateway = make_gateway()
    assert gateway.converse(messages=HI).region == SECONDARY
    faults(bedrock_emulator)  # the Region recovers
    assert gateway.converse(messages=HI).region == PRIMARY
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})
    assert gateway.converse(messages=HI).region == SECONDARY
    assert gateway.breaker_states()[gateway.routes[0].name] == "closed"  # streak restarted


def test_every_route_has_a_client_before_the_first_failover(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    gateway._warming.join(timeout=30)
    assert set(gateway.clients.built()) == {PRIMARY, SECONDARY, TERTIARY}
    faults(bedrock_emulator, **{PRIMARY: {"down": True}})
    before = gateway.clients.client(SECONDARY)
    assert gateway.converse(messages=HI).region == SECONDARY
    assert gateway.clients.client(SECONDARY) is before  # the prebuilt client served it
