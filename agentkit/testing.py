"""Test doubles for the model interface, shipped so users can test their own workflows.

``ScriptedModel`` plays a list of turns in order; ``FunctionModel`` answers with a function of
the request. Both implement :class:`agentkit.bedrock.types.ModelInterface`, sync and streaming,
and record every request they saw.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agentkit.bedrock.types import Attempt, ModelRequest, ModelResponse, Usage
from agentkit.resilience.budget import RunBudget

Turn = ModelResponse | str | dict[str, Any] | BaseException
"""A turn: a full response, a text, a ``{"toolUse": {"name", "input"}}`` block, or an error."""


def _tokens(text: str) -> int:
    return (len(text.encode()) + 3) // 4


def as_response(turn: Turn, request: ModelRequest, model: str = "test-model") -> ModelResponse:
    if isinstance(turn, BaseException):
        raise turn
    if isinstance(turn, ModelResponse):
        return turn
    if isinstance(turn, str):
        content: list[dict[str, Any]] = [{"text": turn}]
        stop = "end_turn"
    else:
        use = {"toolUseId": f"tooluse_{len(request.messages)}", **turn["toolUse"]}
        content, stop = [{"toolUse": use}], "tool_use"
    prompt = json.dumps(list(request.messages), default=str)
    output = json.dumps(content, default=str)
    return ModelResponse(
        message={"role": "assistant", "content": content},
        stop_reason=stop,
        usage=Usage(input_tokens=_tokens(prompt), output_tokens=_tokens(output)),
        region="local",
        model=model,
        attempts=(Attempt(f"{model}@local", "local", model, "ok"),),
    )


class _Stream:
    def __init__(self, response: ModelResponse) -> None:
        self.response = response

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        for index, block in enumerate(self.response.content):
            if "toolUse" in block:
                use = block["toolUse"]
                start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
                yield {"contentBlockStart": {"start": start, "contentBlockIndex": index}}
                delta = {"toolUse": {"input": json.dumps(use["input"])}}
                yield {"contentBlockDelta": {"delta": delta, "contentBlockIndex": index}}
            else:
                for word in block.get("text", "").split(" "):
                    yield {
                        "contentBlockDelta": {
                            "delta": {"text": word + " "},
                            "contentBlockIndex": index,
                        }
                    }
            yield {"contentBlockStop": {"contentBlockIndex": index}}
        yield {"messageStop": {"stopReason": self.response.stop_reason}}

    def text(self) -> Iterator[str]:
        for event in self:
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta:
                yield delta["text"]


class _RecordingModel(ABC):
    def __init__(self, model: str) -> None:
        self.model = model
        self.requests: list[ModelRequest] = []
        self._lock = threading.Lock()

    @abstractmethod
    def _answer(self, request: ModelRequest) -> Turn: ...

    def converse(self, request: ModelRequest, *, budget: RunBudget | None = None) -> ModelResponse:
        if budget is not None:
            budget.check()
            budget.add_call()
        with self._lock:
            self.requests.append(request)
        response = as_response(self._answer(request), request, self.model)
        if budget is not None:
            budget.add_usage(
                response.usage.input_tokens, response.usage.output_tokens, model=self.model
            )
        return response

    def converse_stream(self, request: ModelRequest, *, budget: RunBudget | None = None) -> _Stream:
        return _Stream(self.converse(request, budget=budget))


class ScriptedModel(_RecordingModel):
    """Plays ``turns`` in order; raises ``AssertionError`` when asked for more than it has."""

    def __init__(self, turns: Sequence[Turn], model: str = "scripted-model") -> None:
        super().__init__(model)
        self._turns = list(turns)

    @property
    def remaining(self) -> int:
        return len(self._turns)

    def _answer(self, request: ModelRequest) -> Turn:
        if not self._turns:
            raise AssertionError(f"ScriptedModel ran out of turns after {len(self.requests)} calls")
        return self._turns.pop(0)


class FunctionModel(_RecordingModel):
    """Answers each request with ``function(request)``."""

    def __init__(self, function: Callable[[ModelRequest], Turn], model: str = "function-model"):
        super().__init__(model)
        self._function = function

    def _answer(self, request: ModelRequest) -> Turn:
        return self._function(request)
