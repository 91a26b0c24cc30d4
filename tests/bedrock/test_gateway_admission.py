"""Admission control against the emulator's quotas: spill before Bedrock throttles."""

from __future__ import annotations

import pytest

from agentkit.emulator import Emulator
from agentkit.errors import AllRoutesFailed
from agentkit.resilience.admission import AdmissionRejected

from .conftest import HI, PRIMARY, SECONDARY, TERTIARY, GatewayFactory, config


def quotas(emu: Emulator, tpm: int) -> None:
    emu.set_faults(
        {"regions": {r: {"quota": {"tpm": tpm, "burndown": 5}} for r in (PRIMARY, SECONDARY)}}
    )


# A call reserves 1 input + 256 max tokens x 5 = 1281 tokens on a Claude route and settles on
# 1 + 8 output x 5 = 41; on the Nova route (burndown 1) it reserves 257. A 1,300-token bucket
# admits one Claude call, then has 1,259 left: not enough for the next reservation.
ADMISSION = {"enabled": True, "tpm": {PRIMARY: 1300, SECONDARY: 1300, TERTIARY: 200}}


def test_without_admission_the_primary_throttles(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    quotas(bedrock_emulator, 1300)
    gateway = make_gateway()
    for _ in range(3):
        gateway.converse(messages=HI)
    assert sum(1 for c in bedrock_emulator.calls() if c.status == 429) >= 3


def test_with_admission_calls_spill_before_a_429(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    quotas(bedrock_emulator, 1300)
    tpm = {**ADMISSION["tpm"], TERTIARY: 100_000}  # type: ignore[dict-item]
    gateway = make_gateway(
        config(bedrock_emulator, resilience={"admission": {**ADMISSION, "tpm": tpm}})
    )
    regions = [gateway.converse(messages=HI).region for _ in range(4)]
    assert regions == [PRIMARY, SECONDARY, TERTIARY, TERTIARY]
    assert [c.status for c in bedrock_emulator.calls()] == [200] * 4  # no 429 at all
    last = gateway.converse(messages=HI)
    assert [a.error_code for a in last.attempts] == ["NoHeadroom", "NoHeadroom", None]


def test_when_every_route_is_full_callers_queue_then_get_a_clear_rejection(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(bedrock_emulator, resilience={"admission": {**ADMISSION, "max_wait_s": 1.0}})
    gateway = make_gateway(cfg)
    gateway.converse(messages=HI)
    gateway.converse(
        messages=HI
    )  # the primary and the secondary are full; the tertiary is too small
    with pytest.raises(AdmissionRejected, match="no route had quota headroom within 1 s"):
        gateway.converse(messages=HI)
    make_gateway.clock.advance(60)
    assert gateway.converse(messages=HI).region == PRIMARY  # refilled: admitted again
    assert len(bedrock_emulator.calls()) == 3


def test_a_queued_call_waits_for_the_refill(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(bedrock_emulator, resilience={"admission": {**ADMISSION, "max_wait_s": 120}})
    gateway = make_gateway(cfg)
    gateway.converse(messages=HI)
    gateway.converse(messages=HI)
    assert gateway.converse(messages=HI).region == PRIMARY
    # waited (on the injected clock) until the first call's tokens left the one-minute window
    assert 59 < sum(make_gateway.clock.slept) <= 60.1


def test_failed_calls_give_their_reservation_back(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {r: {"down": True} for r in (PRIMARY, SECONDARY, TERTIARY)}}
    )
    tpm = {PRIMARY: 1300, SECONDARY: 1300, TERTIARY: 1300}
    gateway = make_gateway(
        config(bedrock_emulator, resilience={"admission": {**ADMISSION, "tpm": tpm}})
    )
    for _ in range(3):
        with pytest.raises(AllRoutesFailed):
            gateway.converse(messages=HI)
    assert gateway.admission is not None
    levels = [s.level for s in gateway.admission.state().values()]
    assert levels == [pytest.approx(1300)] * 3


def test_a_hedge_goes_through_admission_too(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    """The secondary has room for no call: the hedge is not started, so it cannot spend quota
    the bucket said was not there; the primary (slow, not dead) answers."""
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"latency_ms": 300}}})
    tpm = {PRIMARY: 100_000, SECONDARY: 100, TERTIARY: 100}
    cfg = config(
        bedrock_emulator,
        resilience={
            "admission": {"enabled": True, "tpm": tpm},
            "hedge": {"enabled": True, "delay_s": 0.05},
        },
    )
    response = make_gateway(cfg).converse(messages=HI)
    assert response.region == PRIMARY
    assert [c.region for c in bedrock_emulator.calls()] == [PRIMARY]
    assert "abandoned" not in [a.outcome for a in response.attempts]
