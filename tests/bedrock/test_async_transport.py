"""The asyncio transport against the emulator: botocore's request, parser and errors over httpx.

It must send what the boto3 client sends and fail as botocore fails, so that
``agentkit.bedrock.errors.translate`` stays the one place errors are translated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    EventStreamError,
    ParamValidationError,
    ReadTimeoutError,
)

from agentkit.bedrock.async_client import AsyncClientFactory
from agentkit.bedrock.clients import ClientFactory
from agentkit.bedrock.errors import translate
from agentkit.config import Timeouts
from agentkit.emulator import Emulator
from agentkit.errors import AttemptTimedOut, RegionUnreachable, Throttled

from .conftest import HI, NOVA, PRIMARY, SECONDARY

READ_S = 10.0  # a healthy call never meets it, however loaded the machine


@pytest.fixture
def factories(bedrock_emulator: Emulator) -> Iterator[tuple[ClientFactory, AsyncClientFactory]]:
    clients = ClientFactory(Timeouts(connect_s=1.0, read_s=READ_S), bedrock_emulator.endpoints)
    yield clients, AsyncClientFactory(clients)
    clients.close()


def test_the_emulator_sees_the_same_request_from_both_paths(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    clients, async_clients = factories
    params: dict[str, Any] = {"modelId": NOVA, "messages": HI, "inferenceConfig": {"maxTokens": 9}}
    sync = clients.client(PRIMARY).converse(**params)

    async def call() -> dict[str, Any]:
        try:
            return await async_clients.client(PRIMARY).converse(**params)
        finally:
            await async_clients.aclose()

    answer = asyncio.run(call())
    assert answer["output"] == sync["output"]
    assert answer["stopReason"] == sync["stopReason"]
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    first, second = bedrock_emulator.calls()

    def seen(record: Any) -> tuple[Any, ...]:
        return (
            record.region,
            record.operation,
            record.model,
            record.signed_region,
            record.input_tokens,
            record.output_tokens,
        )

    assert seen(second) == seen(first) == (PRIMARY, "Converse", NOVA, PRIMARY, 1, 8)


def test_each_region_has_its_own_pool_at_its_endpoint_override(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    _, async_clients = factories

    async def look() -> None:
        east, west = async_clients.client(PRIMARY), async_clients.client(SECONDARY)
        assert async_clients.client(PRIMARY) is east
        assert east.pools.pools == west.pools.pools == ()  # built as calls need them
        assert east.pools.pool(0) is east.pools.pool(0)
        assert east.pools.pool(0) is not west.pools.pool(0)
        for pool in (east.pools.pool(0), east.pools.pool(1)):
            assert pool.timeout.read == READ_S
            assert pool.timeout.connect == 1.0
        assert east.endpoint_url == bedrock_emulator.endpoints[PRIMARY]
        await async_clients.aclose()

    asyncio.run(look())


def test_an_error_answer_is_the_client_error_botocore_raises(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    bedrock_emulator.set_faults(
        {
            "regions": {
                PRIMARY: {
                    "errors": [{"code": "ThrottlingException", "first": 9, "retry_after_ms": 1500}]
                }
            }
        }
    )
    clients, async_clients = factories
    with pytest.raises(ClientError) as sync:
        clients.client(PRIMARY).converse(modelId=NOVA, messages=HI)

    async def call() -> None:
        try:
            await async_clients.client(PRIMARY).converse(modelId=NOVA, messages=HI)
        finally:
            await async_clients.aclose()

    with pytest.raises(ClientError) as caught:
        asyncio.run(call())
    assert type(caught.value) is type(sync.value)  # the client's modeled exception class
    assert caught.value.response["Error"] == sync.value.response["Error"]
    error = translate(caught.value, model=NOVA, region=PRIMARY)
    assert isinstance(error, Throttled)
    assert error.retry_after_s == 1.5


def test_an_in_stream_error_is_an_event_stream_error(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"stream": {"error_after_events": 2}}}})
    _, async_clients = factories
    events: list[dict[str, Any]] = []

    async def read() -> None:
        answer = await async_clients.client(PRIMARY).converse_stream(modelId=NOVA, messages=HI)
        try:
            async for event in answer["stream"]:
                events.append(event)
        finally:
            await answer["stream"].aclose()
            await async_clients.aclose()

    with pytest.raises(EventStreamError) as caught:
        asyncio.run(read())
    assert len(events) == 2
    assert "messageStart" in events[0]
    assert isinstance(translate(caught.value, model=NOVA, region=PRIMARY), Throttled)


def test_an_invalid_parameter_is_refused_before_anything_is_sent(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    _, async_clients = factories

    async def call() -> None:
        try:
            await async_clients.client(PRIMARY).converse(modelId=NOVA, messages="not a list")
        finally:
            await async_clients.aclose()

    with pytest.raises(ParamValidationError):
        asyncio.run(call())
    assert bedrock_emulator.calls() == []


def test_transport_failures_are_botocore_exceptions(bedrock_emulator: Emulator) -> None:
    bedrock_emulator.set_faults(
        {"regions": {PRIMARY: {"down": True}, SECONDARY: {"blackhole": True}}}
    )
    clients = ClientFactory(Timeouts(connect_s=1.0, read_s=0.5), bedrock_emulator.endpoints)
    async_clients = AsyncClientFactory(clients)

    async def call(region: str) -> None:
        try:
            await async_clients.client(region).converse(modelId=NOVA, messages=HI)
        finally:
            await async_clients.aclose()

    with pytest.raises(EndpointConnectionError) as refused:
        asyncio.run(call(PRIMARY))
    assert isinstance(translate(refused.value, model=NOVA, region=PRIMARY), RegionUnreachable)
    with pytest.raises(ReadTimeoutError) as silent:
        asyncio.run(call(SECONDARY))
    assert isinstance(translate(silent.value, model=NOVA, region=SECONDARY), AttemptTimedOut)
    clients.close()


def test_every_call_gives_its_connection_back(
    bedrock_emulator: Emulator, factories: tuple[ClientFactory, AsyncClientFactory]
) -> None:
    """Answers, error answers, streams read to the end or closed early: with two connections
    and twenty calls, a connection not given back would leave calls waiting forever."""
    clients, _ = factories
    async_clients = AsyncClientFactory(clients, max_connections=2)
    bedrock_emulator.set_faults(
        {"regions": {SECONDARY: {"errors": [{"code": "ThrottlingException", "first": 99}]}}}
    )

    async def calls() -> list[int]:
        east, west = async_clients.client(PRIMARY), async_clients.client(SECONDARY)
        held = []
        for n in range(5):
            await east.converse(modelId=NOVA, messages=HI)
            with pytest.raises(ClientError):
                await west.converse_stream(modelId=NOVA, messages=HI)
            answer = await east.converse_stream(modelId=NOVA, messages=HI)
            held.append(east.pools.in_use)
            if n % 2:
                async for _ in answer["stream"]:
                    pass
            await answer["stream"].aclose()
            await answer["stream"].aclose()  # a second close gives nothing back twice
        await asyncio.gather(*(east.converse(modelId=NOVA, messages=HI) for _ in range(5)))
        held += [east.pools.in_use, west.pools.in_use]
        await async_clients.aclose()
        return held

    assert asyncio.run(calls()) == [1] * 5 + [0, 0]
    assert len(bedrock_emulator.calls()) == 20
