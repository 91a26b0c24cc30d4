"""Model behaviour that never pretends to be a real model.

- A scripted turn, when a script for the model matches: turns with ``match`` are chosen by a
  regex on the last user message; the others are played in order, once each.
- Else, a forced tool choice (``toolChoice.any`` or ``toolChoice.tool``) is answered with a tool
  call whose arguments are the minimal instance of the tool's input schema.
- Else, a short deterministic text derived from the prompt, marked as the emulator's.
``maxTokens`` and ``stopSequences`` are honoured with the emulator's token rule.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from agentkit.bedrock.tokens import block_tokens
from agentkit.emulator.limits import MAX_MATCH_CHARS, check_pattern
from agentkit.emulator.schema_example import minimal_instance

REPLY_PREFIX = "[agentkit emulator]"
_REPLY_WORDS = 16


class ScriptedToolUse(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ScriptedTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    match: str | None = None  # regex searched in the last user message
    text: str | None = None
    tool_use: ScriptedToolUse | None = None
    stop_reason: str | None = None

    @field_validator("match")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        return check_pattern(pattern) if pattern is not None else None


class Script(RootModel[dict[str, tuple[ScriptedTurn, ...]]]):
    """Turns per model id (``*`` for any model)."""


@dataclass(frozen=True)
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str

    @property
    def text(self) -> str:
        return "".join(block.get("text", "") for block in self.content)

    @property
    def output_tokens(self) -> int:
        return sum(block_tokens(block) for block in self.content)


class Responder:
    def __init__(self, script: Script | None = None) -> None:
        self._turns = script.root if script else {}
        self._cursor: dict[str, int] = {}
        self._lock = threading.Lock()

    def reply(self, model: str, request: dict[str, Any]) -> Reply:
        turn = self._scripted(model, last_user_text(request))
        if turn is not None:
            return _finish(_from_turn(turn, request), request)
        forced = _forced_tool(request)
        if forced is not None:
            return _tool_call(forced, request)
        return _finish(Reply([{"text": default_text(request)}], "end_turn"), request)

    def _scripted(self, model: str, last_user: str) -> ScriptedTurn | None:
        key = model if model in self._turns else "*"
        turns = self._turns.get(key, ())
        for turn in turns:
            if turn.match is not None and re.search(turn.match, last_user[:MAX_MATCH_CHARS]):
                return turn
        with self._lock:
            ordered = [t for t in turns if t.match is None]
            index = self._cursor.get(key, 0)
            if index < len(ordered):
                self._cursor[key] = index + 1
                return ordered[index]
        return None


def last_user_text(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            texts = [b["text"] for b in message.get("content") or [] if "text" in b]
            if texts:
                return " ".join(texts)
    return ""


def default_text(request: dict[str, Any]) -> str:
    words = last_user_text(request).split()
    snippet = " ".join(words[:_REPLY_WORDS]) + (" ..." if len(words) > _REPLY_WORDS else "")
    return f"{REPLY_PREFIX} You said: {snippet}" if snippet else f"{REPLY_PREFIX} Hello."


def _forced_tool(request: dict[str, Any]) -> dict[str, Any] | None:
    config = request.get("toolConfig") or {}
    tools: list[dict[str, Any]] = [
        t["toolSpec"] for t in config.get("tools") or [] if "toolSpec" in t
    ]
    choice = config.get("toolChoice") or {}
    if not tools or not ("any" in choice or "tool" in choice):
        return None
    if "tool" in choice:
        wanted = choice["tool"].get("name")
        return next((t for t in tools if t.get("name") == wanted), None)
    return tools[0]


def _tool_use_id(name: str, request: dict[str, Any]) -> str:
    seed = json.dumps([name, request.get("messages")], sort_keys=True, default=str)
    return "tooluse_" + hashlib.sha256(seed.encode()).hexdigest()[:22]


def _tool_call(spec: dict[str, Any], request: dict[str, Any]) -> Reply:
    schema = (spec.get("inputSchema") or {}).get("json") or {}
    block = {
        "toolUse": {
            "toolUseId": _tool_use_id(spec["name"], request),
            "name": spec["name"],
            "input": minimal_instance(schema),
        }
    }
    return Reply([block], "tool_use")


def _from_turn(turn: ScriptedTurn, request: dict[str, Any]) -> Reply:
    content: list[dict[str, Any]] = []
    if turn.text is not None:
        content.append({"text": turn.text})
    if turn.tool_use is not None:
        use = turn.tool_use
        content.append(
            {
                "toolUse": {
                    "toolUseId": _tool_use_id(use.name, request),
                    "name": use.name,
                    "input": use.input,
                }
            }
        )
    default_stop = "tool_use" if turn.tool_use is not None else "end_turn"
    return Reply(content or [{"text": ""}], turn.stop_reason or default_stop)


def _finish(reply: Reply, request: dict[str, Any]) -> Reply:
    """Apply stopSequences and maxTokens to the text of a reply."""
    config = request.get("inferenceConfig") or {}
    if not reply.content or "text" not in reply.content[0] or len(reply.content) > 1:
        return reply
    text, stop = reply.text, reply.stop_reason
    for sequence in config.get("stopSequences") or []:
        at = text.find(sequence)
        if sequence and at >= 0:
            text, stop = text[:at], "stop_sequence"
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and len(text.encode()) > 4 * max_tokens:
        text = text.encode()[: 4 * max_tokens].decode(errors="ignore")
        stop = "max_tokens"
    return Reply([{"text": text}], stop)
