"""Run a workflow: an explicit LangGraph ``StateGraph`` with limits, budget and a trace.

Every run gets an explicit ``recursion_limit`` (LangGraph's default is 10007); hitting it is a
graceful stop with the partial state, as is a node raising :class:`BudgetExceeded`, and a run
that calls the same tool with the same arguments more than ``tool_repeat_limit`` times
(:class:`ToolLoop`, stop reason ``tool_loop``). With the operator's kill switch on
(``agentkit ops set kill_switch=on``) a new run is refused (:class:`KillSwitchOn`) and a running
one stops before its next step (stop reason ``kill_switch``). The run's
budget and deadline cover every model call of every node. Each run is one
``invoke_agent {agent}`` span, with one ``step {node}`` span per node run beneath it, and the
node's ``chat {model}`` and ``execute_tool {tool}`` spans beneath that. A node may pause for
approval with :func:`approval` and the run resumes with ``run(resume=...)`` (needs a
checkpointer). :meth:`AgentRuntime.arun` is the same run on the event loop: a node given an
async variant (:func:`agentkit.graph.node`) runs it there, with no thread per run.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.errors import GraphBubbleUp, GraphRecursionError
from langgraph.graph.state import CompiledStateGraph, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from agentkit.bedrock.types import ModelInterface
from agentkit.errors import BudgetExceeded, ToolLoop
from agentkit.graph.context import CONFIG_KEY, DEFAULT_TOOL_REPEAT_LIMIT, RunContext
from agentkit.ops import active as ops
from agentkit.ops.document import ATTRIBUTE as OPS_ATTRIBUTE
from agentkit.ops.document import STOP_REASON as KILL_SWITCH
from agentkit.ops.document import KillSwitchOn
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.answers import AnswerMetrics, records_answer
from agentkit.telemetry.guardrails import GuardrailMetrics
from agentkit.tools.registry import ToolRegistry

DEFAULT_RECURSION_LIMIT = 12

COMPLETED, RECURSION_LIMIT, INTERRUPTED = "completed", "recursion_limit", "interrupted"
TOOL_LOOP = "tool_loop"
KILLED = KILL_SWITCH  # the operator's kill switch stopped the run at a step


@dataclass(frozen=True)
class RunResult:
    state: dict[str, Any]
    # completed | recursion_limit | interrupted | tool_loop | kill_switch | budget_exceeded:<kind>
    stop_reason: str
    degraded: bool
    degraded_reasons: tuple[str, ...]
    budget: dict[str, float]
    tool_calls: tuple[dict[str, Any], ...] = ()
    answered_by: dict[str, str] = field(default_factory=dict)
    fell_back: bool = False
    interrupt: Any = None  # the approval request when stop_reason is "interrupted"
    thread_id: str = ""
    stop_message: str | None = None  # why the run stopped early, in one line (tool_loop, ...)

    @property
    def degraded_reason(self) -> str | None:
        return "; ".join(self.degraded_reasons) or None


def approval(request: dict[str, Any]) -> Any:
    """Pause the run until a human answers ``request``; returns their answer on resume."""
    return interrupt(request)


class AgentRuntime:
    def __init__(
        self,
        name: str,
        graph: StateGraph[Any, Any, Any, Any],
        *,
        model: ModelInterface | None = None,
        tools: ToolRegistry | None = None,
        recursion_limit: int = DEFAULT_RECURSION_LIMIT,
        tool_repeat_limit: int = DEFAULT_TOOL_REPEAT_LIMIT,
        budget_limits: BudgetLimits | None = None,
        max_tokens: int = 1024,
        offline_reason: str | None = None,
        checkpointer: Any = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if recursion_limit < 1:
            raise ValueError("recursion_limit must be at least 1")
        if tool_repeat_limit < 1:
            raise ValueError("tool_repeat_limit must be at least 1")
        self.name = name
        self.model = model
        self.tools = tools
        self.recursion_limit = recursion_limit
        self.tool_repeat_limit = tool_repeat_limit
        self.budget_limits = budget_limits or BudgetLimits()
        self.max_tokens = max_tokens
        self.offline_reason = offline_reason
        self.checkpointer = checkpointer
        # Explicit providers, else the CLI command's (or serve's, while it builds), else the
        # global ones: resolved here, so a run outside that scope still reports to them.
        self._tracer = providers.get_tracer("agentkit.runtime", tracer_provider)
        self.answers = AnswerMetrics(meter_provider)  # what records_answer records into
        self.guardrail_metrics = GuardrailMetrics(meter_provider)  # each run's guard events
        self.graph: CompiledStateGraph[Any, Any, Any, Any] = _compile_traced(
            graph, checkpointer, self._tracer, name
        )
        self._clock = clock

    def context(self, thread_id: str) -> RunContext:
        return RunContext(
            agent=self.name,
            budget=RunBudget(self.budget_limits, self._clock),
            model=self.model,
            tools=self.tools,
            max_tokens=self.max_tokens,
            offline_reason=self.offline_reason,
            conversation_id=thread_id,
            can_pause=self.checkpointer is not None,
            tool_repeat_limit=self.tool_repeat_limit,
            guardrail_metrics=self.guardrail_metrics,
        )

    @records_answer
    def run(
        self,
        inputs: dict[str, Any] | None = None,
        *,
        thread_id: str | None = None,
        resume: Any = None,
        recover: bool = False,
        on_context: Callable[[RunContext], None] | None = None,
    ) -> RunResult:
        """Run ``inputs`` on ``thread_id``; ``resume`` answers a pending approval; ``recover``
        continues a run that died (a crash, a killed worker) from its last checkpoint, reusing
        the tool results stored there (needs a checkpointer)."""
        ctx, payload, config = self._start(inputs, thread_id, resume, recover, on_context)
        with self._run_span(ctx) as span:
            state: dict[str, Any] = {}
            try:
                for chunk in self.graph.stream(payload, config, stream_mode="values"):
                    state = dict(chunk)
            except _STOPS as error:
                return self._result(ctx, span, _stopped(state, error))
            return self._result(ctx, span, _ended(state))

    @records_answer
    async def arun(
        self,
        inputs: dict[str, Any] | None = None,
        *,
        thread_id: str | None = None,
        resume: Any = None,
        recover: bool = False,
        on_context: Callable[[RunContext], None] | None = None,
    ) -> RunResult:
        """:meth:`run` on the event loop (LangGraph's ``astream``): the same arguments, limits,
        spans and result. Nodes with an async variant run it; the checkpointer must have async
        methods (``agentkit.agents.sessions``' stores do)."""
        ctx, payload, config = self._start(inputs, thread_id, resume, recover, on_context)
        with self._run_span(ctx) as span:
            state: dict[str, Any] = {}
            try:
                async for chunk in self.graph.astream(payload, config, stream_mode="values"):
                    state = dict(chunk)
            except _STOPS as error:
                return self._result(ctx, span, _stopped(state, error))
            return self._result(ctx, span, _ended(state))

    def _start(
        self,
        inputs: dict[str, Any] | None,
        thread_id: str | None,
        resume: Any,
        recover: bool,
        on_context: Callable[[RunContext], None] | None,
    ) -> tuple[RunContext, Any, RunnableConfig]:
        """The run's context, what LangGraph is given, and its config."""
        if recover and self.checkpointer is None:
            raise ValueError("recover needs a checkpointer: nothing was kept to continue from")
        thread_id = thread_id or uuid.uuid4().hex
        ctx = self.context(thread_id)
        if on_context is not None:
            on_context(ctx)
        config: RunnableConfig = {
            "recursion_limit": self.recursion_limit,
            "configurable": {"thread_id": thread_id, CONFIG_KEY: ctx},
        }
        payload: Any = Command(resume=resume) if resume is not None else (inputs or {})
        if recover:
            payload = None  # LangGraph: continue from the thread's last checkpoint
        return ctx, payload, config

    @contextlib.contextmanager
    def _run_span(self, ctx: RunContext) -> Iterator[Span]:
        """The run's ``invoke_agent`` span; the operator's kill switch refuses the run here,
        before any step."""
        with self._tracer.start_as_current_span(
            f"invoke_agent {self.name}", kind=SpanKind.INTERNAL
        ) as span:
            span.set_attribute(sc.OPERATION_NAME, "invoke_agent")
            span.set_attribute(sc.AGENT_NAME, self.name)
            span.set_attribute(sc.CONVERSATION_ID, ctx.conversation_id or "")
            ctx.span = span  # run-level events (prompt, guardrail, degraded) go here
            overrides = ops.current()
            if overrides.active:
                span.set_attribute(OPS_ATTRIBUTE, overrides.summary())
            if overrides.kill_switch:  # refused before any step runs
                span.set_attribute("agentkit.stop_reason", KILLED)
                raise KillSwitchOn(overrides)
            yield span

    def _result(self, ctx: RunContext, span: Span, outcome: _Outcome) -> RunResult:
        state, stop_reason, pending, message = outcome
        if stop_reason == COMPLETED and ctx.budget_exceeded:
            stop_reason = f"budget_exceeded:{ctx.budget_exceeded}"
        result = RunResult(
            state={k: v for k, v in state.items() if k != "__interrupt__"},
            stop_reason=stop_reason,
            degraded=ctx.degraded,
            degraded_reasons=tuple(ctx.degraded_reasons),
            budget=ctx.budget.snapshot(),
            tool_calls=tuple(ctx.tool_calls),
            answered_by=dict(ctx.answered_by),
            fell_back=ctx.fell_back,
            interrupt=pending,
            thread_id=ctx.conversation_id or "",
            stop_message=message,
        )
        _describe(span, result)
        return result


# What a run's stream ends with: the last state, the stop reason, the pending approval, and why
# the run stopped early (in one line), if it did.
_Outcome = tuple[dict[str, Any], str, Any, str | None]
# Errors that stop a run gracefully, with its partial state.
_STOPS = (GraphRecursionError, BudgetExceeded, ToolLoop, KillSwitchOn)


def _stopped(state: dict[str, Any], error: Exception) -> _Outcome:
    """The one place a graceful stop becomes a stop reason."""
    if isinstance(error, GraphRecursionError):
        return state, RECURSION_LIMIT, None, None
    if isinstance(error, BudgetExceeded):
        return state, f"budget_exceeded:{error.kind}", None, None
    if isinstance(error, ToolLoop):
        return state, TOOL_LOOP, None, str(error)
    return state, KILLED, None, str(error)


def _ended(state: dict[str, Any]) -> _Outcome:
    interrupts = state.get("__interrupt__")
    if interrupts:
        return state, INTERRUPTED, interrupts[0].value, None
    return state, COMPLETED, None, None


def _describe(span: Span, result: RunResult) -> None:
    span.set_attribute("agentkit.stop_reason", result.stop_reason)
    if result.stop_message:
        span.set_attribute("agentkit.stop_message", result.stop_message)
    span.set_attribute("agentkit.degraded", result.degraded)
    if result.degraded_reason:
        span.set_attribute("agentkit.degraded_reason", result.degraded_reason)
    for key, value in result.budget.items():
        span.set_attribute(f"agentkit.budget.{key}", value)


def _compile_traced(
    graph: StateGraph[Any, Any, Any, Any], checkpointer: Any, tracer: Tracer, agent: str
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile ``graph`` with every node wrapped in a step span. The caller's graph is left as
    it was (the wrappers exist only in the compiled graph)."""
    originals = {name: spec.runnable for name, spec in graph.nodes.items()}
    try:
        for name, spec in graph.nodes.items():
            spec.runnable = _Step(name, spec.runnable, tracer, agent)
        return graph.compile(checkpointer=checkpointer)
    finally:
        for name, runnable in originals.items():
            graph.nodes[name].runnable = runnable


class _Step(Runnable[Any, Any]):
    """A graph node inside a ``step {node}`` span (INTERNAL): the node's model calls and tool
    calls become its children. A pause for approval is not an error; anything else raised is."""

    def __init__(self, node: str, bound: Any, tracer: Tracer, agent: str) -> None:
        self.node = node
        self.bound = bound
        self.name = node
        self._tracer = tracer
        self._agent = agent

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        _kill_switch()
        with self._span(config) as span:
            try:
                return self.bound.invoke(input, config, **kwargs)
            except BaseException as error:
                _step_failed(span, error)
                raise

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        _kill_switch()
        with self._span(config) as span:
            try:
                return await self.bound.ainvoke(input, config, **kwargs)
            except BaseException as error:
                _step_failed(span, error)
                raise

    def _span(self, config: RunnableConfig | None) -> Any:
        metadata = (config or {}).get("metadata") or {}
        attributes: dict[str, Any] = {sc.AGENT_NAME: self._agent, sc.STEP: self.node}
        if isinstance(metadata.get("langgraph_step"), int):
            attributes[sc.STEP_INDEX] = metadata["langgraph_step"]
        return self._tracer.start_as_current_span(
            f"step {self.node}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )


def _kill_switch() -> None:
    """Stop the run before this step when the operator's kill switch is on."""
    overrides = ops.current()
    if overrides.kill_switch:
        raise KillSwitchOn(overrides, running=True)


def _step_failed(span: Span, error: BaseException) -> None:
    if isinstance(error, GraphBubbleUp):  # an approval pause or a Command to the parent
        span.set_attribute(sc.STEP_INTERRUPTED, True)
        return
    span.set_attribute(sc.ERROR_TYPE, type(error).__name__)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
