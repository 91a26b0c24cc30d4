"""InvokeModel bodies: the Anthropic messages dialect and the Amazon Nova (Converse-like) one."""

from __future__ import annotations

import hashlib
from typing import Any

from agentkit.emulator.calllog import CallRecord
from agentkit.emulator.responder import Reply
from agentkit.emulator.wire_errors import BedrockError

ANTHROPIC = "anthropic"
NOVA = "nova"


def from_invoke_body(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A Converse-shaped request from an InvokeModel body, and the body's dialect."""
    if "anthropic_version" in body:
        return _from_anthropic(body), ANTHROPIC
    if "schemaVersion" in body or ("messages" in body and "inferenceConfig" in body):
        return {
            "messages": body.get("messages"),
            "system": body.get("system") or [],
            "inferenceConfig": {"maxTokens": (body.get("inferenceConfig") or {}).get("maxTokens")},
        }, NOVA
    raise BedrockError(
        "ValidationException",
        "Malformed input request: the emulator understands Anthropic messages bodies "
        "(anthropic_version) and Amazon Nova bodies (messages + inferenceConfig).",
    )


def _from_anthropic(body: dict[str, Any]) -> dict[str, Any]:
    def blocks(content: Any) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"text": content}]
        out: list[dict[str, Any]] = []
        for part in content or []:
            if part.get("type") == "text":
                out.append({"text": part.get("text", "")})
            elif part.get("type") == "tool_use":
                out.append(
                    {
                        "toolUse": {
                            "toolUseId": part.get("id", ""),
                            "name": part.get("name", ""),
                            "input": part.get("input", {}),
                        }
                    }
                )
            elif part.get("type") == "tool_result":
                out.append(
                    {
                        "toolResult": {
                            "toolUseId": part.get("tool_use_id", ""),
                            "content": blocks(part.get("content")),
                        }
                    }
                )
        return out

    messages = body.get("messages")
    request: dict[str, Any] = {
        "messages": None
        if messages is None
        else [{"role": m.get("role"), "content": blocks(m.get("content"))} for m in messages],
        "system": blocks(body.get("system")) if body.get("system") else [],
        "inferenceConfig": {"maxTokens": body.get("max_tokens")},
    }
    if body.get("stop_sequences"):
        request["inferenceConfig"]["stopSequences"] = body["stop_sequences"]
    tools = body.get("tools") or []
    if tools:
        choice = body.get("tool_choice") or {"type": "auto"}
        converse_choice: dict[str, Any] = {"auto": {}}
        if choice.get("type") == "any":
            converse_choice = {"any": {}}
        elif choice.get("type") == "tool":
            converse_choice = {"tool": {"name": choice.get("name")}}
        request["toolConfig"] = {
            "tools": [
                {
                    "toolSpec": {
                        "name": t["name"],
                        "description": t.get("description", ""),
                        "inputSchema": {"json": t.get("input_schema", {})},
                    }
                }
                for t in tools
            ],
            "toolChoice": converse_choice,
        }
    return request


def to_invoke_body(dialect: str, model: str, reply: Reply, record: CallRecord) -> dict[str, Any]:
    if dialect == NOVA:
        return {
            "output": {"message": {"role": "assistant", "content": reply.content}},
            "stopReason": reply.stop_reason,
            "usage": {
                "inputTokens": record.input_tokens,
                "outputTokens": record.output_tokens,
                "totalTokens": record.input_tokens + record.output_tokens,
            },
        }
    content: list[dict[str, Any]] = []
    for block in reply.content:
        if "toolUse" in block:
            use = block["toolUse"]
            content.append(
                {
                    "type": "tool_use",
                    "id": use["toolUseId"],
                    "name": use["name"],
                    "input": use["input"],
                }
            )
        else:
            content.append({"type": "text", "text": block.get("text", "")})
    return {
        "id": "msg_emu_" + hashlib.sha256(f"{record.seq}".encode()).hexdigest()[:20],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": record.input_tokens, "output_tokens": record.output_tokens},
    }
