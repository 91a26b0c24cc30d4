"""Prompt caching through the gateway: where the cachePoint goes, on which models, and what the
attempt, the span and the metrics record of the cache's reads and writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.model import ServiceModel
from botocore.validate import ParamValidator
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.bedrock.caching import TABLE_PATH, caching_table
from agentkit.bedrock.tokens import text_tokens
from agentkit.bedrock.types import ModelRequest
from agentkit.emulator import Emulator

from .conftest import PRIMARY, SONNET, GatewayFactory, config
from .test_gateway_metrics import points

POINT = {"cachePoint": {"type": "default"}}
STABLE = "You advise SREs on disaster recovery. " * 120  # about 1,140 tokens: over 1,024
TOOL = {"name": "requirements", "description": "d", "inputSchema": {"json": {"type": "object"}}}


def request(question: str = "hi", stable: str = STABLE, **fields: Any) -> ModelRequest:
    return ModelRequest(
        messages=[{"role": "user", "content": [{"text": question}]}],
        system=[{"text": stable}, {"text": f"Asked at turn {question}"}],
        cached_system_blocks=1,
        **fields,
    )


def converse_input_shape() -> Any:
    data = Path(botocore.__file__).parent / "data/bedrock-runtime/2023-09-30/service-2.json.gz"
    model = ServiceModel(json.loads(gzip.decompress(data.read_bytes())))
    return model.operation_model("Converse").input_shape


def test_the_cache_point_follows_the_stable_system_blocks_in_botocore_s_wire_shape() -> None:
    kwargs = request(tools=[TOOL]).to_converse(SONNET)
    assert kwargs["system"] == [{"text": STABLE}, POINT, {"text": "Asked at turn hi"}]
    assert POINT not in kwargs["toolConfig"]["tools"]  # one point covers tools and system
    report = ParamValidator().validate(kwargs, converse_input_shape())
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize(
    "model",
    [
        "us.anthropic.claude-3-haiku-20240307-v1:0",  # not in the table
        "us.meta.llama3-3-70b-instruct-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",  # no Bedrock source found: left out
    ],
)
def test_no_cache_point_for_a_model_the_table_does_not_list(model: str) -> None:
    kwargs = request(tools=[TOOL]).to_converse(model)
    assert POINT not in kwargs["system"]
    assert POINT not in kwargs["toolConfig"]["tools"]


def test_no_cache_point_below_the_model_s_minimum_or_when_not_asked() -> None:
    short = request(stable="Be brief.").to_converse(SONNET)
    assert POINT not in short["system"]
    unmarked = ModelRequest(messages=request().messages, system=[{"text": STABLE}])
    assert POINT not in unmarked.to_converse(SONNET)["system"]
    # Claude Haiku 4.5 needs 4,096 tokens per checkpoint: the same prefix is too short for it.
    assert (
        POINT not in request().to_converse("us.anthropic.claude-haiku-4-5-20251001-v1:0")["system"]
    )


def test_nova_caches_the_system_prompt_but_never_the_tools() -> None:
    nova = "us.amazon.nova-pro-v1:0"
    with_system = request(tools=[TOOL]).to_converse(nova)
    assert with_system["system"][1] == POINT
    assert POINT not in with_system["toolConfig"]["tools"]
    big_tool = {**TOOL, "description": STABLE}
    tools_only = ModelRequest(messages=request().messages, tools=[big_tool], cached_system_blocks=0)
    assert POINT not in tools_only.to_converse(nova)["toolConfig"]["tools"]
    assert tools_only.to_converse(SONNET)["toolConfig"]["tools"][-1] == POINT


def test_the_table_cites_a_source_for_every_model_and_strips_profile_prefixes() -> None:
    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    for row in raw["models"]:
        assert row["sources"], row["match"]
        assert set(row["sources"]) <= raw["sources"].keys(), row["match"]
    table = caching_table()
    assert table.ttl_s == 300
    row = table.lookup("arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + SONNET)
    assert row is not None
    assert row.min_tokens == 1024
    assert table.lookup("global.anthropic.claude-sonnet-4-5-20250929-v1:0") == row


def test_repeated_calls_read_the_cache_and_bill_fewer_input_tokens(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    gateway = make_gateway(meter_provider=provider)
    first = gateway.converse(request("1"))
    second = gateway.converse(request("2"))
    stable = text_tokens(STABLE)
    assert (first.usage.cache_write_tokens, first.usage.cache_read_tokens) == (stable, 0)
    assert (second.usage.cache_write_tokens, second.usage.cache_read_tokens) == (0, stable)
    assert first.usage.prompt_tokens == second.usage.prompt_tokens  # the same prompt size
    assert second.usage.input_tokens == first.usage.input_tokens  # only the new part is billed
    assert second.usage.input_tokens < stable
    # the attempt that answered carries the cache tokens
    (attempt,) = second.attempts
    assert (attempt.outcome, attempt.cache_read_tokens, attempt.cache_write_tokens) == (
        "ok",
        stable,
        0,
    )
    # the span: GenAI cache attributes, input_tokens counting the cached part
    spans = make_gateway.spans.get_finished_spans()
    attrs = dict(spans[-1].attributes or {})
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == stable
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 0
    assert attrs["gen_ai.usage.input_tokens"] == second.usage.prompt_tokens
    first_attrs = dict(spans[0].attributes or {})
    assert first_attrs["gen_ai.usage.cache_creation.input_tokens"] == stable
    # the metrics
    cache = {
        attrs["agentkit.prompt_cache"]: value
        for attrs, value in points(reader)["agentkit.gateway.prompt_cache.tokens"]
    }
    assert cache == {"read": stable, "write": stable}
    provider.shutdown()


def test_a_streamed_call_reads_the_cache_from_the_metadata_event(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    gateway.converse(request("1"))
    stream = gateway.converse_stream(request("2"))
    for _ in stream:
        pass
    response = stream.response
    assert response.usage.cache_read_tokens == text_tokens(STABLE)
    assert response.attempts[-1].cache_read_tokens == text_tokens(STABLE)


def test_without_a_cache_point_usage_is_unchanged(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    plain = ModelRequest(messages=request().messages, system=[{"text": STABLE}])
    first, second = gateway.converse(plain), gateway.converse(plain)
    assert first.usage == second.usage
    assert second.usage.cache_read_tokens == second.usage.cache_write_tokens == 0
    attrs = dict(make_gateway.spans.get_finished_spans()[-1].attributes or {})
    assert "gen_ai.usage.cache_read.input_tokens" not in attrs
    assert {c.cache_read_tokens for c in bedrock_emulator.calls() if c.region == PRIMARY} == {0}


def test_a_fallback_route_on_an_unlisted_model_gets_no_cache_point(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    other = "us.anthropic.claude-3-haiku-20240307-v1:0"
    routes = [{"model": SONNET, "region": PRIMARY}, {"model": other, "region": "us-west-2"}]
    cfg = config(bedrock_emulator, models={"routes": routes})
    chain = make_gateway(cfg)._chain
    sonnet_route, haiku_route = chain.routes
    assert POINT in chain.converse_kwargs(request(), sonnet_route)["system"]
    assert POINT not in chain.converse_kwargs(request(), haiku_route)["system"]
