"""Model steps: the only places a workflow calls a model, each with its deterministic fallback.

The model fills in well-defined steps; it never chooses the route. A structured step forces a
tool call whose input schema is the output schema, validates what comes back (schema, then the
step's own checks), sends the problem back for a bounded number of corrections, and otherwise
takes its fallback. When the model tier is gone (every route failed, breakers open, budget used
up, no credentials), the step takes its fallback at once and the run is marked degraded.

Each step's logic is written once, free of I/O: a generator that yields the
:class:`ModelRequest` it needs answered and receives the response, or the reason the model tier
could not give one. :func:`structured_step` and :func:`text_step` drive it with
``ctx.model.converse``; :func:`astructured_step` and :func:`atext_step` with
``ctx.model.aconverse`` on the event loop (a model with no async methods, such as a test double,
is called in a worker thread so it never blocks the loop). A streamed answer goes through one
:class:`_TextStream` either way, so ``on_text`` sees exactly the same pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import anyio.from_thread
import anyio.to_thread
from jsonschema import Draft202012Validator

from agentkit.bedrock.types import (
    AsyncModelInterface,
    Message,
    ModelRequest,
    ModelResponse,
    ModelStream,
)
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
Reply = ModelResponse | str  # the model's response, or why the model tier could not answer
Core = Generator[ModelRequest, Reply, "StepOutcome[T]"]
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


# --- one model call, sync and async ----------------------------------------------------------


def _call(ctx: RunContext, request: ModelRequest) -> Reply:
    """The model's response, or the reason the model tier could not give one."""
    if ctx.model is None:
        return ctx.offline_reason or "no model configured"
    try:
        response = ctx.model.converse(request, budget=ctx.budget)
    except MODEL_TIER_ERRORS as error:
        return _tier_failure(ctx, error)
    return _received(ctx, response)


async def _acall(ctx: RunContext, request: ModelRequest) -> Reply:
    """:func:`_call` on the event loop."""
    model = ctx.model
    if model is None:
        return ctx.offline_reason or "no model configured"
    try:
        if _is_async(model):
            response = await cast(AsyncModelInterface, model).aconverse(request, budget=ctx.budget)
        else:
            response = await anyio.to_thread.run_sync(
                lambda: model.converse(request, budget=ctx.budget)
            )
    except MODEL_TIER_ERRORS as error:
        return _tier_failure(ctx, error)
    return _received(ctx, response)


def _is_async(model: object) -> bool:
    return callable(getattr(model, "aconverse", None)) and callable(
        getattr(model, "aconverse_stream", None)
    )


def _received(ctx: RunContext, response: ModelResponse) -> ModelResponse:
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


def _drive(ctx: RunContext, core: Core[T]) -> StepOutcome[T]:
    """Run a step's logic, answering each request it yields with a model call."""
    try:
        request = next(core)
        while True:
            request = core.send(_call(ctx, request))
    except StopIteration as done:
        return cast(StepOutcome[T], done.value)


async def _adrive(ctx: RunContext, core: Core[T]) -> StepOutcome[T]:
    """:func:`_drive` with the model called on the event loop."""
    try:
        request = next(core)
        while True:
            request = core.send(await _acall(ctx, request))
    except StopIteration as done:
        return cast(StepOutcome[T], done.value)


# --- structured steps ------------------------------------------------------------------------


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
    core = _structured(
        ctx,
        name,
        description,
        schema,
        messages,
        fallback,
        system,
        check,
        max_corrections,
        cached_system_blocks,
    )
    return _drive(ctx, core)


async def astructured_step(
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
    """:func:`structured_step` with the model called on the event loop (``aconverse``)."""
    core = _structured(
        ctx,
        name,
        description,
        schema,
        messages,
        fallback,
        system,
        check,
        max_corrections,
        cached_system_blocks,
    )
    return await _adrive(ctx, core)


def _structured(
    ctx: RunContext,
    name: str,
    description: str,
    schema: dict[str, Any],
    messages: Sequence[Message],
    fallback: Callable[[], dict[str, Any]],
    system: Sequence[dict[str, Any]],
    check: Callable[[dict[str, Any]], None] | None,
    max_corrections: int,
    cached_system_blocks: int | None,
) -> Core[dict[str, Any]]:
    """The structured step's logic: ask, validate, send the problem back, or fall back."""
    spec = {"name": name, "description": description, "inputSchema": {"json": schema}}
    validator = Draft202012Validator(schema)
    conversation = list(messages)
    problem = ""
    for round_ in range(max_corrections + 1):
        response = yield ModelRequest(
            messages=tuple(conversation),
            system=system,
            tools=[spec],
            tool_choice={"tool": {"name": name}},
            max_tokens=ctx.max_tokens,
            cached_system_blocks=cached_system_blocks,
        )
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


# --- text steps ------------------------------------------------------------------------------


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
    request = _text_request(ctx, messages, system, cached_system_blocks)
    if on_text is None or ctx.model is None:
        return _drive(ctx, _text(ctx, request, fallback))
    return _streamed(ctx, request, _TextStream(ctx, fallback, on_text))


async def atext_step(
    ctx: RunContext,
    *,
    messages: Sequence[Message],
    fallback: Callable[[], str],
    system: Sequence[dict[str, Any]] = (),
    on_text: Callable[[str], None] | None = None,
    cached_system_blocks: int | None = None,
) -> StepOutcome[str]:
    """:func:`text_step` with the model called on the event loop (``aconverse_stream``);
    ``on_text`` is called on the loop with the same pieces."""
    request = _text_request(ctx, messages, system, cached_system_blocks)
    if on_text is None or ctx.model is None:
        return await _adrive(ctx, _text(ctx, request, fallback))
    return await _astreamed(ctx, request, _TextStream(ctx, fallback, on_text))


def _text_request(
    ctx: RunContext,
    messages: Sequence[Message],
    system: Sequence[dict[str, Any]],
    cached_system_blocks: int | None,
) -> ModelRequest:
    return ModelRequest(
        messages=list(messages),
        system=system,
        max_tokens=ctx.max_tokens,
        cached_system_blocks=cached_system_blocks,
    )


def _text(ctx: RunContext, request: ModelRequest, fallback: Callable[[], str]) -> Core[str]:
    response = yield request
    if isinstance(response, str):
        ctx.degrade(response)
        return StepOutcome(fallback(), "degraded", response)
    return StepOutcome(response.text, "model")


class _TextStream:
    """What a streamed text step does with the events, whoever reads them: text deltas go to
    ``on_text`` as they come; the end answers the step, a model-tier failure degrades it."""

    def __init__(
        self, ctx: RunContext, fallback: Callable[[], str], on_text: Callable[[str], None]
    ) -> None:
        self.ctx = ctx
        self.fallback = fallback
        self.on_text = on_text
        self.parts: list[str] = []

    def event(self, event: dict[str, Any]) -> None:
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "text" in delta:
            self.parts.append(delta["text"])
            self.on_text(delta["text"])

    def finished(self, response: ModelResponse) -> StepOutcome[str]:
        _answered(self.ctx, response)
        return StepOutcome("".join(self.parts), "model")

    def failed(self, error: Exception) -> StepOutcome[str]:
        reason = _tier_failure(self.ctx, error)
        self.ctx.degrade(reason)
        return StepOutcome(self.fallback(), "degraded", reason)


def _streamed(ctx: RunContext, request: ModelRequest, text: _TextStream) -> StepOutcome[str]:
    assert ctx.model is not None
    try:
        stream = ctx.model.converse_stream(request, budget=ctx.budget)
        for event in stream:
            text.event(event)
        return text.finished(stream.response)
    except MODEL_TIER_ERRORS as error:
        return text.failed(error)


async def _astreamed(ctx: RunContext, request: ModelRequest, text: _TextStream) -> StepOutcome[str]:
    model = ctx.model
    assert model is not None
    if not _is_async(model):
        return await _streamed_in_thread(ctx, request, text)
    try:
        stream = await cast(AsyncModelInterface, model).aconverse_stream(request, budget=ctx.budget)
        async for event in stream:
            text.event(event)
        return text.finished(stream.response)
    except MODEL_TIER_ERRORS as error:
        return text.failed(error)


async def _streamed_in_thread(
    ctx: RunContext, request: ModelRequest, text: _TextStream
) -> StepOutcome[str]:
    """A model with no async methods streams in a worker thread; each event is handed to the
    loop as it comes, so ``on_text`` runs on the loop as with an async model."""
    assert ctx.model is not None
    model = ctx.model

    def read() -> ModelStream:
        stream = model.converse_stream(request, budget=ctx.budget)
        for event in stream:
            anyio.from_thread.run_sync(text.event, event)
        return stream

    try:
        stream = await anyio.to_thread.run_sync(read)
        return text.finished(stream.response)
    except MODEL_TIER_ERRORS as error:
        return text.failed(error)
