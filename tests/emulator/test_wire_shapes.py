"""Raw emulator bodies validate against botocore's own bedrock-runtime output shapes."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import EventStreamBuffer

from agentkit.emulator import Emulator
from agentkit.emulator.eventstream import encode_frame, event_frame
from agentkit.emulator.wire_errors import ERRORS

from . import shapes
from .conftest import MODEL, USER, model_path, raw_post

TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "t",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"a": {"type": "integer"}},
                        "required": ["a"],
                    }
                },
            }
        }
    ],
    "toolChoice": {"any": {}},
}


@pytest.mark.parametrize(
    "body",
    [
        {"messages": USER},
        {"messages": USER, "toolConfig": TOOLS},
        {
            "messages": USER,
            "guardrailConfig": {
                "guardrailIdentifier": "default",
                "guardrailVersion": "DRAFT",
                "trace": "enabled",
            },
        },
    ],
    ids=["text", "tool_use", "guardrail_trace"],
)
def test_converse_body_matches_the_output_shape(emu: Emulator, body: dict[str, object]) -> None:
    pii = [{"role": "user", "content": [{"text": "reach me at x@y.org"}]}]
    if "guardrailConfig" in body:
        body = {**body, "messages": pii}
    status, _, raw = raw_post(emu.endpoints["us-east-1"], model_path(MODEL, "converse"), body)
    assert status == 200
    assert shapes.check(json.loads(raw), shapes.output_shape("Converse")) == []


def test_stream_events_match_the_event_shapes(emu: Emulator) -> None:
    status, headers, raw = raw_post(
        emu.endpoints["us-east-1"],
        model_path(MODEL, "converse-stream"),
        {"messages": USER, "toolConfig": TOOLS},
    )
    assert status == 200
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    seen = []
    for message in buffer:
        event_type = message.headers[":event-type"]
        seen.append(event_type)
        assert message.headers[":message-type"] == "event"
        assert shapes.check(json.loads(message.payload), shapes.event_shape(event_type)) == []
    assert seen[0] == "messageStart"
    assert seen[-1] == "metadata"
    assert {"contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop"} <= set(
        seen
    )


def test_count_tokens_and_apply_guardrail_bodies_match(emu: Emulator) -> None:
    endpoint = emu.endpoints["us-east-1"]
    _, _, raw = raw_post(
        endpoint, model_path(MODEL, "count-tokens"), {"input": {"converse": {"messages": USER}}}
    )
    assert shapes.check(json.loads(raw), shapes.output_shape("CountTokens")) == []
    _, _, raw = raw_post(
        endpoint,
        "/guardrail/default/version/DRAFT/apply",
        {"source": "INPUT", "content": [{"text": {"text": "card 4111 1111 1111 1111"}}]},
    )
    body = json.loads(raw)
    assert body["action"] == "GUARDRAIL_INTERVENED"
    assert shapes.check(body, shapes.output_shape("ApplyGuardrail")) == []


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_error_responses_carry_header_status_and_modelled_body(emu: Emulator, code: str) -> None:
    emu.set_faults({"regions": {"us-east-1": {"errors": [{"code": code}]}}})
    status, headers, raw = raw_post(
        emu.endpoints["us-east-1"], model_path(MODEL, "converse"), {"messages": USER}
    )
    assert status == ERRORS[code].status
    assert headers["x-amzn-errortype"] == code
    body = json.loads(raw)
    assert body["message"]
    shape = shapes._MODEL.shape_for(code)
    assert shapes.check(body, shape) == []


def test_malformed_json_and_missing_messages_are_validation_errors(emu: Emulator) -> None:
    endpoint = emu.endpoints["us-east-1"]
    status, headers, raw = raw_post(endpoint, model_path(MODEL, "converse"), b"{not json")
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert "Malformed input request" in json.loads(raw)["message"]
    status, headers, raw = raw_post(endpoint, model_path(MODEL, "converse"), {"system": []})
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert "'messages'" in json.loads(raw)["message"]
    status, _, raw = raw_post(
        endpoint,
        model_path(MODEL, "converse"),
        {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
    )
    assert status == 400
    assert "start with a user message" in json.loads(raw)["message"]
    status, _, _ = raw_post(
        endpoint,
        model_path(MODEL, "converse"),
        {"messages": USER, "inferenceConfig": {"maxTokens": 0}},
    )
    assert status == 400


def test_unknown_path_is_404(emu: Emulator) -> None:
    status, headers, _ = raw_post(emu.endpoints["us-east-1"], "/model/x/teleport", {})
    assert status == 404
    assert headers["x-amzn-errortype"] == "UnknownOperationException"


def test_frames_decode_with_botocores_decoder() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(
        event_frame("messageStop", {"stopReason": "end_turn"}) + encode_frame({"a": "é"}, b"xyz")
    )
    first, second = list(buffer)
    assert first.headers[":event-type"] == "messageStop"
    assert json.loads(first.payload) == {"stopReason": "end_turn"}
    assert (second.headers, second.payload) == ({"a": "é"}, b"xyz")
