"""The model interface graph nodes use: Converse-shaped requests and responses, sync and streaming.

Nodes depend on :class:`ModelInterface`, never on a boto3 client; the gateway implements it, and
so do the test doubles in ``agentkit.testing``. A model that also implements
:class:`AsyncModelInterface` (the gateway does) is called on the event loop by the async steps
(``agentkit.graph.steps.astructured_step``); one that does not is called in a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from agentkit.resilience.budget import RunBudget

Message = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def prompt_tokens(self) -> int:
        """Every input token: Bedrock's ``inputTokens`` excludes the prompt cache's reads and
        writes, so they are added back."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @classmethod
    def from_wire(cls, usage: dict[str, Any] | None) -> Usage:
        usage = usage or {}
        return cls(
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            cache_read_tokens=int(usage.get("cacheReadInputTokens", 0)),
            cache_write_tokens=int(usage.get("cacheWriteInputTokens", 0)),
        )


@dataclass(frozen=True)
class Attempt:
    """One try of one route: what the trace and the degraded answer report."""

    route: str
    region: str
    model: str
    outcome: str  # "ok", "error", "skipped" (breaker open, guardrail missing), "abandoned" (hedge)
    error_code: str | None = None
    latency_s: float = 0.0
    cache_read_tokens: int = 0  # of the attempt that answered: input read from the prompt cache
    cache_write_tokens: int = 0  # ... and written to it
    # The request's input tokens as sized before it was sent (agentkit.bedrock.sizing), and
    # where the figure came from: "count_tokens" (Bedrock's CountTokens) or "estimate".
    input_tokens: int | None = None
    input_tokens_source: str | None = None


@dataclass(frozen=True)
class ModelRequest:
    messages: Sequence[Message]
    system: Sequence[dict[str, Any]] = ()
    tools: Sequence[dict[str, Any]] = ()  # Converse toolSpec objects
    tool_choice: dict[str, Any] | None = (
        None  # {"auto": {}} | {"any": {}} | {"tool": {"name": ...}}
    )
    max_tokens: int | None = None
    temperature: float | None = None
    stop_sequences: Sequence[str] = ()
    guardrail: dict[str, str] | None = None  # {"guardrailIdentifier", "guardrailVersion", "trace"?}
    priority: Literal["interactive", "batch"] = "interactive"  # admission order, not sent
    # The stable prefix to cache: the tool specs and this many leading system blocks. None: no
    # cachePoint. One goes after the prefix only on models that support prompt caching
    # (agentkit.bedrock.caching), so each route of a chain gets what its model takes.
    cached_system_blocks: int | None = None

    def to_converse(self, model: str) -> dict[str, Any]:
        """Keyword arguments for boto3 ``converse``/``converse_stream``."""
        kwargs: dict[str, Any] = {"modelId": model, "messages": list(self.messages)}
        if self.system:
            kwargs["system"] = list(self.system)
        inference: dict[str, Any] = {}
        if self.max_tokens is not None:
            inference["maxTokens"] = self.max_tokens
        if self.temperature is not None:
            inference["temperature"] = self.temperature
        if self.stop_sequences:
            inference["stopSequences"] = list(self.stop_sequences)
        if inference:
            kwargs["inferenceConfig"] = inference
        if self.tools:
            tool_config: dict[str, Any] = {"tools": [{"toolSpec": spec} for spec in self.tools]}
            if self.tool_choice:
                tool_config["toolChoice"] = self.tool_choice
            kwargs["toolConfig"] = tool_config
        if self.guardrail:
            kwargs["guardrailConfig"] = dict(self.guardrail)
        if self.cached_system_blocks is not None:
            from agentkit.bedrock.caching import add_cache_point

            add_cache_point(kwargs, model, self.cached_system_blocks)
        return kwargs


@dataclass(frozen=True)
class ModelResponse:
    message: Message
    stop_reason: str
    usage: Usage
    region: str
    model: str
    attempts: tuple[Attempt, ...] = ()
    trace: dict[str, Any] | None = None
    service_tier: str | None = None  # the tier the service reports it used

    @property
    def content(self) -> list[dict[str, Any]]:
        return list(self.message.get("content", []))

    @property
    def text(self) -> str:
        return "".join(block.get("text", "") for block in self.content)

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [block["toolUse"] for block in self.content if "toolUse" in block]

    @property
    def fell_back(self) -> bool:
        """True when the answer came from a route other than the first one tried."""
        return any(a.outcome != "ok" for a in self.attempts)


@dataclass
class StreamState:
    """What a stream has delivered so far; becomes a :class:`ModelResponse` at the end."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = ""
    usage: Usage = field(default_factory=Usage)
    events: int = 0
    chars: int = 0
    service_tier: str | None = None

    def apply(self, event: dict[str, Any]) -> None:
        self.events += 1
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]["start"]
            if "toolUse" in start:
                self._block(event["contentBlockStart"]["contentBlockIndex"])["toolUse"] = {
                    **start["toolUse"],
                    "input": "",
                }
        elif "contentBlockDelta" in event:
            body = event["contentBlockDelta"]
            block = self._block(body["contentBlockIndex"])
            delta = body["delta"]
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
                self.chars += len(delta["text"])
            elif "toolUse" in delta:
                block.setdefault("toolUse", {"input": ""})["input"] += delta["toolUse"]["input"]
                self.chars += len(delta["toolUse"]["input"])
        elif "messageStop" in event:
            self.stop_reason = event["messageStop"]["stopReason"]
        elif "metadata" in event:
            self.usage = Usage.from_wire(event["metadata"].get("usage"))
            self.service_tier = (event["metadata"].get("serviceTier") or {}).get("type")

    def _block(self, index: int) -> dict[str, Any]:
        while len(self.blocks) <= index:
            self.blocks.append({})
        return self.blocks[index]

    def message(self) -> Message:
        content = []
        for block in self.blocks:
            if "toolUse" in block:
                use = dict(block["toolUse"])
                use["input"] = json.loads(use["input"] or "{}")
                content.append({"toolUse": use})
            else:
                content.append({"text": block.get("text", "")})
        return {"role": "assistant", "content": content}


def is_content_event(event: dict[str, Any]) -> bool:
    """Content has reached the caller once one of these is delivered: no transparent retry after."""
    return "contentBlockDelta" in event or "contentBlockStart" in event


class ModelStream(Protocol):
    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    @property
    def response(self) -> ModelResponse: ...


class ModelInterface(Protocol):
    """What graph nodes call. The gateway, and agentkit's test doubles, implement it."""

    def converse(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> ModelResponse: ...

    def converse_stream(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> ModelStream: ...


class AsyncModelStream(Protocol):
    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    @property
    def response(self) -> ModelResponse: ...


class AsyncModelInterface(Protocol):
    """What async graph nodes call when the model has it: :class:`ModelInterface` as
    coroutines, with no thread per call."""

    async def aconverse(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> ModelResponse: ...

    async def aconverse_stream(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> AsyncModelStream: ...
