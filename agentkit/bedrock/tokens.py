"""One token-counting rule: the emulator's CountTokens, usage and quotas, and the gateway's
admission estimates all use it, so they agree exactly.

Rule: a piece of text costs ceil(UTF-8 bytes / 4) tokens (about four characters of English
per token, the usual rule of thumb). Structured values (tool input, JSON tool results, tool
specs) cost the tokens of their compact JSON. Each image or document costs a flat 1,000 tokens.
A request's input tokens are the sum over its system blocks, messages and tool specs; there is
no per-message overhead, so the counts are easy to check by hand.
"""

from __future__ import annotations

import json
from typing import Any

MEDIA_TOKENS = 1000


def text_tokens(text: str) -> int:
    return (len(text.encode("utf-8")) + 3) // 4


def json_tokens(value: Any) -> int:
    return text_tokens(json.dumps(value, separators=(",", ":"), sort_keys=True))


def block_tokens(block: dict[str, Any]) -> int:
    if "text" in block:
        return text_tokens(str(block["text"]))
    if "toolUse" in block:
        return json_tokens(block["toolUse"].get("input", {}))
    if "toolResult" in block:
        return sum(block_tokens(part) for part in block["toolResult"].get("content", []))
    if "json" in block:
        return json_tokens(block["json"])
    if "image" in block or "document" in block or "video" in block:
        return MEDIA_TOKENS
    if "guardContent" in block:
        return block_tokens(block["guardContent"])
    if "reasoningContent" in block:
        return text_tokens(str(block["reasoningContent"].get("reasoningText", {}).get("text", "")))
    return 0  # cachePoint and other markers are free


def converse_input_tokens(request: dict[str, Any]) -> int:
    """Input tokens of a Converse-shaped request (``messages``, ``system``, ``toolConfig``)."""
    total = sum(block_tokens(b) for b in request.get("system") or [])
    for message in request.get("messages") or []:
        total += sum(block_tokens(b) for b in message.get("content") or [])
    for tool in (request.get("toolConfig") or {}).get("tools") or []:
        if "toolSpec" in tool:
            total += json_tokens(tool["toolSpec"])
    return total
