"""Fault-injection tests of ``Gateway.aconverse`` / ``aconverse_stream`` against the emulator.

The async path must keep the sync path's discipline: the same chain, breakers, retries, deadline,
errors and records. Each test asserts what the caller sees and what the emulator saw.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from agentkit.bedrock.async_client import AsyncRuntimeClient
from agentkit.bedrock.gateway import Gateway
from agentkit.bedrock.types import ModelResponse
from agentkit.emulator import Emulator
from agentkit.errors import AllRoutesFailed, ModelRejected, StreamInterrupted
from agentkit.telemetry import semconv as sc

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
from .test_gateway_admission import ADMISSION
from .test_gateway_faults import errors, faults

T = TypeVar("T")


def run(gateway: Gateway, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a new event loop; the gateway's pools (which belong to that loop) close with it."""

    async def closing() -> T:
        try:
            return await coroutine
        finally:
            await gateway.aclose()

    return asyncio.run(closing())


def converse(gateway: Gateway, **fields: Any) -> ModelResponse:
    return run(gateway, gateway.aconverse(**fields))


def test_aconverse_answers_from_the_primary_once(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    response = converse(gateway, messages=HI, max_tokens=256)
    assert (response.region, response.model, response.stop_reason) == (PRIMARY, SONNET, "end_turn")
    assert response.text.endswith("hi")
    assert response.usage.output_tokens > 0
    assert [a.outcome for a in response.attempts] == ["ok"]
    [call] = bedrock_emulator.calls()
    assert (call.operation, call.signed_region) == ("Converse", PRIMARY)  # signed with SigV4
    [span] = make_gateway.spans.get_finished_spans()
    assert span.name == f"chat {SONNET}"
    assert span.attributes is not None
    assert span.attributes[sc.ATTEMPTS] == 1
    assert span.attributes[sc.USAGE_OUTPUT_TOKENS] == response.usage.output_tokens


def test_primary_down_falls_back_to_the_next_region(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"down": True}})
    response = converse(make_gateway(), messages=HI)
    assert response.region == SECONDARY
    assert [(a.region, a.error_code) for a in response.attempts] == [
        (PRIMARY, "ConnectionRefused"),
        (SECONDARY, None),
    ]
    assert calls_to(bedrock_emulator, PRIMARY) == 0


def test_throttling_is_retried_within_the_bounds(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ThrottlingException", first=2)})
    response = converse(make_gateway(), messages=HI)
    assert response.region == PRIMARY
    assert [a.error_code for a in response.attempts] == ["ThrottlingException"] * 2 + [None]
    assert calls_to(bedrock_emulator, PRIMARY) == 3
    slept = make_gateway.clock.slept  # full jitter within base x 2^(n-1), on the gateway's clock
    assert len(slept) == 2
    assert 0 <= slept[0] <= 0.2
    assert 0 <= slept[1] <= 0.4


def test_a_throttle_storm_stops_at_max_attempts_then_falls_back(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ThrottlingException")})
    response = converse(make_gateway(), messages=HI)
    assert response.region == SECONDARY
    assert (calls_to(bedrock_emulator, PRIMARY), calls_to(bedrock_emulator, SECONDARY)) == (3, 1)


def test_the_retry_after_header_is_honoured(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(
        bedrock_emulator,
        **{
            PRIMARY: {
                "errors": [{"code": "ThrottlingException", "first": 1, "retry_after_ms": 2500}]
            }
        },
    )
    assert converse(make_gateway(), messages=HI).region == PRIMARY
    assert make_gateway.clock.slept == [2.5]


def test_the_breaker_opens_and_stops_hitting_the_primary(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ThrottlingException")})
    gateway = make_gateway()

    async def ten_calls() -> list[str]:
        return [(await gateway.aconverse(messages=HI)).region for _ in range(10)]

    assert run(gateway, ten_calls()) == [SECONDARY] * 10
    assert calls_to(bedrock_emulator, PRIMARY) == 5  # fail_max, then the breaker is open
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "open"


def test_the_deadline_stops_retries(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    storm = errors("ThrottlingException")
    faults(bedrock_emulator, **{PRIMARY: storm, SECONDARY: storm, TERTIARY: storm})
    cfg = config(
        bedrock_emulator,
        limits={"deadline_s": 0.01},
        resilience={"retry": {"max_attempts": 5, "base_delay_s": 1.0, "max_delay_s": 5.0}},
    )
    with pytest.raises(AllRoutesFailed):
        converse(make_gateway(cfg), messages=HI)
    assert len(bedrock_emulator.calls()) == 3  # one try per route: every backoff passes it
    assert make_gateway.clock.slept == []


def test_every_route_failing_is_one_error_listing_every_attempt(
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
        converse(make_gateway(), messages=HI)
    seen = [(a.region, a.error_code) for a in caught.value.attempts]
    assert seen == [(PRIMARY, "ConnectionRefused")] + [
        (SECONDARY, "ServiceUnavailableException")
    ] * 3 + [(TERTIARY, "ConnectionRefused")]
    assert getattr(caught.value.__cause__, "code", None) == "ConnectionRefused"


def test_an_invalid_request_is_one_call_with_no_fallback(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: errors("ValidationException")})
    gateway = make_gateway()
    with pytest.raises(ModelRejected):
        converse(gateway, messages=HI)
    assert len(bedrock_emulator.calls()) == 1
    assert gateway.breaker_states()[f"{SONNET}@{PRIMARY}"] == "closed"


def test_a_streamed_answer_arrives_as_deltas(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"down": True}})  # the stream falls back too
    gateway = make_gateway()

    async def read() -> tuple[list[str], Any]:
        stream = await gateway.aconverse_stream(messages=HI)
        return [text async for text in stream.text()], stream.response

    deltas, response = run(gateway, read())
    assert len(deltas) > 1
    assert "".join(deltas) == response.text
    assert response.text.endswith("hi")
    assert response.region == SECONDARY
    assert response.usage.output_tokens > 0
    assert [c.operation for c in bedrock_emulator.calls()] == ["ConverseStream"]


def test_a_stream_error_before_content_is_retried_transparently(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {PRIMARY: {"models": {SONNET: {"stream": {"error_after_events": 1}}}}}}
    )
    gateway = make_gateway()

    async def read() -> Any:
        stream = await gateway.aconverse_stream(messages=HI)
        assert "".join([text async for text in stream.text()]).endswith("hi")
        return stream.response

    response = run(gateway, read())
    assert [a.error_code for a in response.attempts] == ["ThrottlingException"] * 3 + [None]
    assert response.region == SECONDARY


def test_a_stream_error_after_content_is_a_typed_interruption(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"stream": {"error_after_events": 3}}})
    gateway = make_gateway()
    delivered: list[str] = []
    long_question = [
        {"role": "user", "content": [{"text": "tell me about pilot light and warm standby"}]}
    ]

    async def read() -> None:
        stream = await gateway.aconverse_stream(messages=long_question)
        async for text in stream.text():
            delivered.append(text)

    with pytest.raises(StreamInterrupted) as caught:
        run(gateway, read())
    assert caught.value.delivered_events == 3
    assert caught.value.delivered_chars == len("".join(delivered)) > 0
    assert caught.value.code == "ThrottlingException"
    assert len(bedrock_emulator.calls()) == 1  # content had reached the caller: no retry


def test_hedging_takes_the_faster_route_and_cancels_the_slow_one(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    faults(bedrock_emulator, **{PRIMARY: {"blackhole": True}})  # never answers: the hedge wins
    cfg = config(
        bedrock_emulator,
        resilience={
            "hedge": {"enabled": True, "delay_s": 0.05},
            "timeouts": {"connect_s": 1, "read_s": 30},
        },
    )
    response = converse(make_gateway(cfg), messages=HI)
    assert response.region == SECONDARY
    assert [(a.region, a.outcome) for a in response.attempts] == [
        (SECONDARY, "ok"),
        (PRIMARY, "abandoned"),
    ]


def test_a_hundred_concurrent_calls_complete_on_one_thread(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = make_gateway(
        config(
            bedrock_emulator,
            models={"routes": [{"model": NOVA, "region": PRIMARY}]},
            # a hundred connections at once to one emulator port on a loaded machine: what is
            # tested is the threads, so no call may time out
            resilience={"timeouts": {"connect_s": 30, "read_s": 30}},
        )
    )
    gateway.clients.warm([PRIMARY])
    threads: set[int] = set()
    in_flight = [0, 0]  # now, peak
    thread_counts: list[int] = []
    converse = AsyncRuntimeClient.converse

    async def watched(self: AsyncRuntimeClient, **params: Any) -> dict[str, Any]:
        threads.add(threading.get_ident())
        thread_counts.append(threading.active_count())
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        try:
            return await converse(self, **params)
        finally:
            in_flight[0] -= 1

    monkeypatch.setattr(AsyncRuntimeClient, "converse", watched)

    async def hundred() -> list[str]:
        asyncio.get_running_loop().set_default_executor(_NoExecutor())  # to_thread would fail
        before = threading.active_count()
        responses = await asyncio.gather(*(gateway.aconverse(messages=HI) for _ in range(100)))
        assert threading.active_count() == before
        return [r.region for r in responses]

    assert run(gateway, hundred()) == [PRIMARY] * 100
    assert threads == {threading.get_ident()}  # asyncio.run's loop runs on this thread
    assert in_flight[1] == 100  # all in flight at once, not one after another
    assert max(thread_counts) == min(thread_counts)  # no thread started while they ran
    assert len(bedrock_emulator.calls()) == 100


class _NoExecutor(ThreadPoolExecutor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        raise AssertionError(f"the async path used an executor thread for {fn!r}")


def test_admission_spills_to_the_next_route_and_queues_when_every_route_is_full(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(bedrock_emulator, resilience={"admission": {**ADMISSION, "max_wait_s": 120}})
    gateway = make_gateway(cfg)

    async def calls() -> list[ModelResponse]:
        return [await gateway.aconverse(messages=HI) for _ in range(3)]

    first, second, queued = run(gateway, calls())
    assert [first.region, second.region] == [PRIMARY, SECONDARY]
    assert [a.error_code for a in second.attempts] == ["NoHeadroom", None]
    assert queued.region == PRIMARY  # every route was full: it waited for the refill
    # on the injected clock: until the first call's tokens left the one-minute window
    assert 59 < sum(make_gateway.clock.slept) <= 60.1
    assert [c.region for c in bedrock_emulator.calls()] == [PRIMARY, SECONDARY, PRIMARY]


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
    with pytest.raises(AllRoutesFailed):
        converse(gateway, messages=HI)
    assert gateway.admission is not None
    assert [s.level for s in gateway.admission.state().values()] == [pytest.approx(1300)] * 3
