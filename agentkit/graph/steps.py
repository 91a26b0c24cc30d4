"""Model steps: the only places a workflow calls a model, each with its deterministic fallback.

The model fills in well-defined steps; it never chooses the route. A structured step forces a
tool call whose input schema is the output schema, validates what comes back (schema, then the
step's own checks), sends the problem back for a bounded number of corrections, and otherwise
takes its fallback. When the model tier is gone (every route failed, breakers open, budget used
up, no credentials), the step takes its fallback at once and the run is marked degraded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from jsonschema import Draft202012Validator

from agentkit.bedrock.types import Message, ModelRequest, ModelResponse
from agentkit.errors import (
    AllRoutesFailed,
    BudgetExceeded,
    CircuitOpen,
    ModelError,
    ToolInputInvalid,
)
from agentkit.graph.context import RunContext
from agentkit.resilience.admission import AdmissionRejected
from agentkit.tools.registry import schema_problem

T = TypeVar("T")
# Errors that mean "the model tier cannot answer this step": degrade instead of failing the run.
MODEL_TIER_ERRORS = (AllRoutesFailed, CircuitOpen, BudgetExceeded, ModelError, AdmissionRejected)


@dataclass(frozen=True)
class StepOutcome(Generic[T]):
    value: T
    source: str  # "model", "fallback" (model output unusable) or "degraded" (model tier gone)
    reason: str | None = None
    corrections: int = 0


def tier_reason(error: Exception) -> str:
    """A short, user-facing reason for a degraded answer."""
    if isinstance(error, AllRoutesFailed):
        codes = sorted({a.error_code for a in error.attempts if a.error_code})
        return f"every model route failed ({', '.join(codes) or 'no route usable'})"
    if isinstance(error, CircuitOpen):
        return f"circuit open for {error.route}"
    if isinstance(error, BudgetExceeded):
        return f"run budget exceeded: {error.kind}"
    return str(error)


def _call(ctx: RunContext, request: ModelRequest) -> ModelResponse | str:
    """The model's response, or the reason the model tier could not give one."""
    if ctx.model is None:
        return ctx.offline_reason or "no model configured"
    try:
        response = ctx.model.converse(request, budget=ctx.budget)
    except MODEL_TIER_ERRORS as error:
        return _tier_failure(ctx, error)
    _answered(ctx, response)
    if response.stop_reason == "guardrail_intervened":
        ctx.guardrail_event("bedrock", "intervened", f"{response.model} in {response.region}")
    return response


def _answered(ctx: RunContext, response: ModelResponse) -> None:
    ctx.answered_by.update(region=response.region, model=response.model)
    ctx.fell_back = ctx.fell_back or response.fell_back


def _tier_failure(ctx: RunContext, error: Exception) -> str:
    if isinstance(error, BudgetExceeded):
        ctx.budget_exceeded = error.kind
    return tier_reason(error)


def structured_step(
    ctx: RunContext,
    *,
    name: str,
    description: str,
    schema: dict[str, Any],
    messages: Sequence[Message],
    fallback: Callable[[], dict[str, Any]],
    system: Sequence[dict[str, Any]] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
    max_corrections: int = 2,
    cached_system_blocks: int | None = None,
) -> StepOutcome[dict[str, Any]]:
    """Ask the model for an object matching ``schema`` (a forced tool call named ``name``).

    ``check`` may raise :class:`ToolInputInvalid` (e.g. ``ToolRegistry.validate_input``), so a
    value meant as tool input is corrected here and never reaches the tool invalid.
    ``cached_system_blocks``: the leading system blocks that, with the tool spec, are the same
    on every turn (a prompt cache prefix, see :class:`ModelRequest`).
    """
    spec = {"name": name, "description": description, "inputSchema": {"json": schema}}
    validator = Draft202012Validator(schema)
    conversation = list(messages)
    problem = ""
    for round_ in range(max_corrections + 1):
        request = ModelRequest(
            messages=tuple(conversation),
            system=system,
            tools=[spec],
            tool_choice={"tool": {"name": name}},
            max_tokens=ctx.max_tokens,
            cached_system_blocks=cached_system_blocks,
        )
        response = _call(ctx, request)
        if isinstance(response, str):
            ctx.degrade(response)
            return StepOutcome(fallback(), "degraded", response, round_)
        value, problem = _validated(response, validator, check)
        if value is not None:
            return StepOutcome(value, "model", None, round_)
        conversation += [response.message, _correction(response, name, problem)]
    return StepOutcome(
        fallback(),
        "fallback",
        f"model output invalid after {max_corrections} corrections: {problem}",
        max_corrections,
    )


def _validated(
    response: ModelResponse,
    validator: Draft202012Validator,
    check: Callable[[dict[str, Any]], None] | None,
) -> tuple[dict[str, Any] | None, str]:
    if not response.tool_uses:
        return None, "no tool call in the answer"
    value: dict[str, Any] = response.tool_uses[0].get("input") or {}
    problem = schema_problem(validator, value)
    if problem is not None:
        return None, problem[0]
    if check is not None:
        try:
            check(value)
        except ToolInputInvalid as error:
            return None, str(error)
    return value, ""


def _correction(response: ModelResponse, name: str, problem: str) -> Message:
    text = f"The input was invalid: {problem}. Call {name} again with corrected input."
    if response.tool_uses:
        result = {
            "toolUseId": response.tool_uses[0]["toolUseId"],
            "status": "error",
            "content": [{"text": text}],
        }
        return {"role": "user", "content": [{"toolResult": result}]}
    return {"role": "user", "content": [{"text": text}]}


def text_step(
    ctx: RunContext,
    *,
    messages: Sequence[Message],
    fallback: Callable[[], str],
    system: Sequence[dict[str, Any]] = (),
    on_text: Callable[[str], None] | None = None,
    cached_system_blocks: int | None = None,
) -> StepOutcome[str]:
    """Ask the model for prose; stream it to ``on_text`` when given."""
    request = ModelRequest(
        messages=list(messages),
        system=system,
        max_tokens=ctx.max_tokens,
        cached_system_blocks=cached_system_blocks,
    )
    if on_text is None or ctx.model is None:
        response = _call(ctx, request)
        if isinstance(response, str):
            ctx.degrade(response)
            return StepOutcome(fallback(), "degraded", response)
        return StepOutcome(response.text, "model")
    return _streamed(ctx, request, fallback, on_text)


def _streamed(
    ctx: RunContext,
    request: ModelRequest,
    fallback: Callable[[], str],
    on_text: Callable[[str], None],
) -> StepOutcome[str]:
    assert ctx.model is not None
    parts: list[str] = []
    try:
        stream = ctx.model.converse_stream(request, budget=ctx.budget)
        for event in stream:
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta:
                parts.append(delta["text"])
                on_text(delta["text"])
        _answered(ctx, stream.response)
    except MODEL_TIER_ERRORS as error:
        reason = _tier_failure(ctx, error)
        ctx.degrade(reason)
        return StepOutcome(fallback(), "degraded", reason)
    return StepOutcome("".join(parts), "model")
