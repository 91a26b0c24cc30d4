"""Each operation answers as Bedrock would, through a plain boto3 client."""

from __future__ import annotations

import json

import jsonschema
import pytest

from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.emulator import Emulator
from agentkit.emulator.guardrails import GuardrailCatalog, GuardrailRegistry
from agentkit.emulator.responder import REPLY_PREFIX, Responder, Script

from .conftest import MODEL, USER

TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "rto_minutes": {"type": "integer", "minimum": 1},
        "rpo_minutes": {"type": "number", "minimum": 0},
        "regions": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "tier": {"enum": [0, 1, 2, 3]},
        "note": {"type": "string"},
    },
    "required": ["rto_minutes", "rpo_minutes", "regions", "tier"],
    "additionalProperties": False,
}
TOOLS = {
    "tools": [
        {"toolSpec": {"name": "other", "inputSchema": {"json": {"type": "object"}}}},
        {"toolSpec": {"name": "extract", "inputSchema": {"json": TOOL_SCHEMA}}},
    ],
    "toolChoice": {"tool": {"name": "extract"}},
}


def test_converse_answers_with_deterministic_text_and_consistent_usage(emu: Emulator) -> None:
    client = emu.client("us-east-1")
    first = client.converse(modelId=MODEL, messages=USER)
    second = client.converse(modelId=MODEL, messages=USER)
    text = first["output"]["message"]["content"][0]["text"]
    assert text.startswith(REPLY_PREFIX)
    assert "DR strategy for payments" in text
    assert text == second["output"]["message"]["content"][0]["text"]
    assert first["stopReason"] == "end_turn"
    counted = client.count_tokens(modelId=MODEL, input={"converse": {"messages": USER}})
    usage = first["usage"]
    assert (
        usage["inputTokens"] == counted["inputTokens"] == converse_input_tokens({"messages": USER})
    )
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_converse_stream_reassembles_to_the_converse_answer(emu: Emulator) -> None:
    client = emu.client("us-west-2")
    whole = client.converse(modelId=MODEL, messages=USER)
    events = list(client.converse_stream(modelId=MODEL, messages=USER)["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    streamed = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert streamed == whole["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_forced_tool_choice_gets_schema_valid_arguments(emu: Emulator) -> None:
    client = emu.client("us-east-1")
    answer = client.converse(modelId=MODEL, messages=USER, toolConfig=TOOLS)
    assert answer["stopReason"] == "tool_use"
    use = answer["output"]["message"]["content"][0]["toolUse"]
    assert use["name"] == "extract"
    jsonschema.validate(use["input"], TOOL_SCHEMA)
    events = list(client.converse_stream(modelId=MODEL, messages=USER, toolConfig=TOOLS)["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"] == {"toolUseId": use["toolUseId"], "name": "extract"}
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    ]
    assert json.loads("".join(fragments)) == use["input"]


def test_any_tool_choice_picks_the_first_tool(emu: Emulator) -> None:
    tools = {**TOOLS, "toolChoice": {"any": {}}}
    answer = emu.client("us-east-1").converse(modelId=MODEL, messages=USER, toolConfig=tools)
    assert answer["output"]["message"]["content"][0]["toolUse"]["name"] == "other"


def test_max_tokens_and_stop_sequences_cut_the_text(emu: Emulator) -> None:
    client = emu.client("us-east-1")
    short = client.converse(modelId=MODEL, messages=USER, inferenceConfig={"maxTokens": 3})
    assert short["stopReason"] == "max_tokens"
    assert short["usage"]["outputTokens"] <= 3
    stopped = client.converse(
        modelId=MODEL, messages=USER, inferenceConfig={"stopSequences": ["said"]}
    )
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == f"{REPLY_PREFIX} You "


SCRIPT = Script.model_validate(
    {
        MODEL: [
            {"match": "(?i)failover", "text": "Fail over with the runbook."},
            {"text": "first scripted turn"},
            {"tool_use": {"name": "extract", "input": {"rto_minutes": "fifteen"}}},
        ],
        "*": [{"text": "any model"}],
    }
)


@pytest.mark.emulator(regions=["us-east-1"], responder=Responder(SCRIPT))
def test_scripted_turns_play_in_order_or_by_regex(emu: Emulator) -> None:
    client = emu.client("us-east-1")

    def ask(text: str, model: str = MODEL) -> dict[str, object]:
        messages = [{"role": "user", "content": [{"text": text}]}]
        return client.converse(modelId=model, messages=messages)["output"]["message"]["content"][0]  # type: ignore[no-any-return]

    assert ask("How do we FAILOVER?") == {"text": "Fail over with the runbook."}
    assert ask("hello") == {"text": "first scripted turn"}
    tool_use = ask("again")["toolUse"]
    assert tool_use["input"] == {
        "rto_minutes": "fifteen"
    }  # scripts may send invalid input on purpose
    assert ask("and now")["text"].startswith(REPLY_PREFIX)  # script used up: default responder
    assert ask("hi", model="amazon.nova-pro-v1:0") == {"text": "any model"}


def test_invoke_model_speaks_the_anthropic_messages_body(emu: Emulator) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Summarise the runbook"}],
    }
    response = emu.client("us-east-1").invoke_model(modelId=MODEL, body=json.dumps(body))
    answer = json.loads(response["body"].read())
    assert response["contentType"] == "application/json"
    assert answer["type"] == "message"
    assert answer["role"] == "assistant"
    assert answer["content"][0]["type"] == "text"
    assert "Summarise the runbook" in answer["content"][0]["text"]
    assert answer["stop_reason"] == "end_turn"
    assert answer["usage"]["input_tokens"] == 4 + 6  # "You are terse." + "Summarise the runbook"


def test_count_tokens_accepts_an_invoke_model_body(emu: Emulator) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "abcdefgh"}],
    }
    counted = emu.client("us-east-1").count_tokens(
        modelId=MODEL, input={"invokeModel": {"body": json.dumps(body).encode()}}
    )
    assert counted["inputTokens"] == 2


def test_default_guardrail_anonymizes_pii_in_every_region(emu: Emulator) -> None:
    for region in emu.endpoints:
        result = emu.client(region).apply_guardrail(
            guardrailIdentifier="default",
            guardrailVersion="DRAFT",
            source="OUTPUT",
            content=[
                {
                    "text": {
                        "text": "Call 555-867-5309 or mail ops@example.com, "
                        "key AKIAABCDEFGHIJKLMNOP"
                    }
                }
            ],
        )
        assert result["action"] == "GUARDRAIL_INTERVENED"
        assert result["outputs"][0]["text"] == "Call {PHONE} or mail {EMAIL}, key {AWS_ACCESS_KEY}"
        kinds = {
            e["type"] for e in result["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"]
        }
        assert kinds == {"PHONE", "EMAIL", "AWS_ACCESS_KEY"}


def test_clean_text_passes_the_guardrail(emu: Emulator) -> None:
    result = emu.client("us-east-1").apply_guardrail(
        guardrailIdentifier="default",
        guardrailVersion="1",
        source="INPUT",
        content=[{"text": {"text": "What is pilot light?"}}],
    )
    assert result["action"] == "NONE"
    assert result["outputs"] == []
    assert result["assessments"] == []


CATALOG = GuardrailCatalog.model_validate(
    {
        "us-east-1": [
            {
                "id": "gr-sre",
                "versions": ["1"],
                "denied_topics": [{"name": "investment-advice", "examples": ["which stock"]}],
                "regexes": [{"name": "ticket", "pattern": "INC-\\d+", "action": "ANONYMIZE"}],
                "blocked_input_message": "I only help with resilience questions.",
            }
        ]
    }
)


@pytest.mark.emulator(regions=["us-east-1", "us-west-2"], guardrails=GuardrailRegistry(CATALOG))
def test_declared_guardrails_are_regional_and_versioned(emu: Emulator) -> None:
    east = emu.client("us-east-1")
    blocked = east.apply_guardrail(
        guardrailIdentifier="gr-sre",
        guardrailVersion="1",
        source="INPUT",
        content=[{"text": {"text": "Which stock should I buy?"}}],
    )
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"] == [{"text": "I only help with resilience questions."}]
    assert blocked["assessments"][0]["topicPolicy"]["topics"][0]["name"] == "investment-advice"
    masked = east.apply_guardrail(
        guardrailIdentifier="gr-sre",
        guardrailVersion="1",
        source="INPUT",
        content=[{"text": {"text": "see INC-4411"}}],
    )
    assert masked["outputs"] == [{"text": "see {ticket}"}]
    for client, version in ((east, "2"), (emu.client("us-west-2"), "1")):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.apply_guardrail(
                guardrailIdentifier="gr-sre",
                guardrailVersion=version,
                source="INPUT",
                content=[{"text": {"text": "hi"}}],
            )


@pytest.mark.emulator(regions=["us-east-1"], guardrails=GuardrailRegistry(CATALOG))
def test_guardrail_config_on_converse_intervenes_and_traces(emu: Emulator) -> None:
    client = emu.client("us-east-1")
    config = {"guardrailIdentifier": "gr-sre", "guardrailVersion": "1", "trace": "enabled"}
    question = [{"role": "user", "content": [{"text": "which stock wins?"}]}]
    answer = client.converse(modelId=MODEL, messages=question, guardrailConfig=config)
    assert answer["stopReason"] == "guardrail_intervened"
    assert (
        answer["output"]["message"]["content"][0]["text"]
        == "I only help with resilience questions."
    )
    assert "gr-sre" in answer["trace"]["guardrail"]["inputAssessment"]
    pii = [{"role": "user", "content": [{"text": "my mail is a@b.io"}]}]
    masked = client.converse(
        modelId=MODEL,
        messages=pii,
        guardrailConfig={"guardrailIdentifier": "default", "guardrailVersion": "DRAFT"},
    )
    assert masked["stopReason"] == "guardrail_intervened"
    assert "{EMAIL}" in masked["output"]["message"]["content"][0]["text"]
    assert "a@b.io" not in masked["output"]["message"]["content"][0]["text"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.converse(
            modelId=MODEL,
            messages=USER,
            guardrailConfig={"guardrailIdentifier": "nope", "guardrailVersion": "1"},
        )


def test_model_arn_and_encoded_profile_ids_are_decoded(emu: Emulator) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"
    emu.client("us-east-1").converse(modelId=arn, messages=USER)
    emu.client("us-east-1").converse(modelId=MODEL, messages=USER)
    assert [c.model for c in emu.calls()] == [arn, MODEL]
