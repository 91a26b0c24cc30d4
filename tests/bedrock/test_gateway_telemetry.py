"""What an SRE sees in the trace of a call that fails over."""

from __future__ import annotations

import contextlib
import json

from opentelemetry.trace import SpanKind, StatusCode

from agentkit.emulator import Emulator
from agentkit.errors import AllRoutesFailed

from .conftest import HI, PRIMARY, SECONDARY, SONNET, GatewayFactory, config


def test_failover_trace_shows_retries_breaker_and_fallback(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {PRIMARY: {"errors": [{"code": "ThrottlingException"}]}}}
    )
    cfg = config(bedrock_emulator, resilience={"breaker": {"fail_max": 3, "reset_timeout_s": 30}})
    make_gateway(cfg).converse(messages=HI)
    (span,) = make_gateway.spans.get_finished_spans()
    assert span.name == f"chat {SONNET}"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.request.model"] == SONNET
    assert attrs["gen_ai.request.max_tokens"] == 256
    assert attrs["cloud.region"] == SECONDARY
    assert attrs["agentkit.attempts"] == 4
    assert attrs["agentkit.fallbacks"] == 1
    assert attrs["gen_ai.usage.input_tokens"] == 1
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    retries = [a for n, a in events if n == "agentkit.retry"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert {r["error.type"] for r in retries} == {"ThrottlingException"}
    assert all(r["cloud.region"] == PRIMARY for r in retries)
    breaker = [a for n, a in events if n == "agentkit.breaker.state_change"]
    assert breaker == [{"agentkit.route": f"{SONNET}@{PRIMARY}", "from": "closed", "to": "open"}]
    fallback = [a for n, a in events if n == "agentkit.fallback"]
    assert fallback == [
        {
            "from": f"{SONNET}@{PRIMARY}",
            "to": f"{SONNET}@{SECONDARY}",
            "reason": "ThrottlingException",
        }
    ]
    names = [n for n, _ in events]
    assert names.index("agentkit.breaker.state_change") < names.index("agentkit.fallback")


def test_failed_call_span_has_error_status_and_type(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {"regions": {r: {"down": True} for r in bedrock_emulator.endpoints}}
    )
    with contextlib.suppress(AllRoutesFailed):
        make_gateway().converse(messages=HI)
    (span,) = make_gateway.spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "AllRoutesFailed"


def test_stream_span_ends_when_the_stream_does(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    stream = make_gateway().converse_stream(messages=HI)
    assert make_gateway.spans.get_finished_spans() == ()
    list(stream)
    (span,) = make_gateway.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] == stream.response.usage.output_tokens


def test_message_content_is_recorded_only_when_opted_in(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    make_gateway().converse(messages=HI)
    cfg = config(bedrock_emulator, telemetry={"capture_content": True})
    make_gateway(cfg).converse(messages=HI)
    without, with_content = make_gateway.spans.get_finished_spans()
    assert "gen_ai.input.messages" not in (without.attributes or {})
    assert with_content.attributes is not None
    assert json.loads(str(with_content.attributes["gen_ai.input.messages"])) == HI
    assert "gen_ai.output.messages" in with_content.attributes


def test_captured_content_is_redacted(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    cfg = config(bedrock_emulator, telemetry={"capture_content": True})
    secret = [{"role": "user", "content": [{"text": "my card is 4111 1111 1111 1111"}]}]
    make_gateway(cfg).converse(messages=secret)
    (span,) = make_gateway.spans.get_finished_spans()
    assert span.attributes is not None
    captured = str(span.attributes["gen_ai.input.messages"])
    assert "4111" not in captured
    assert "{CREDIT_CARD}" in captured
