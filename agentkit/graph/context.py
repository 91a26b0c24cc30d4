"""What every node of a run can reach: the model, the tools, the budget, and the run's notes.

Nodes call tools through :meth:`RunContext.call_tool`. Inside a run, each call is a LangGraph
task, so its result is written to the run's checkpoint as soon as it returns: a node that runs
again after a crash, an interrupt or a resume gets the stored result instead of running the
tool again (``mutating`` side effects happen once). Each call's deadline is what is left of the
run's wall-clock budget (it caps the tool's own ``timeout_s``, an MCP server's included): no call
starts once the budget is used up, and a call that fails because it ran out stops the run with
``BudgetExceeded`` like a model call would. The same tool with the same arguments more
than ``tool_repeat_limit`` times in one run stops the run (:class:`ToolLoop`), long before the
recursion limit. An operator's tool re-route (``agentkit ops set tool.NAME=OTHER``) sends calls of
``NAME`` to ``OTHER`` when both have the same response schema.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio.to_thread
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.func import task
from opentelemetry import trace
from opentelemetry.trace import Span

from agentkit.bedrock.types import ModelInterface
from agentkit.errors import BudgetExceeded, ToolFailed, ToolLoop, ToolNotFound
from agentkit.ops import active as ops
from agentkit.resilience.budget import RunBudget
from agentkit.telemetry.guardrails import EVENT_GUARDRAIL, GuardrailMetrics
from agentkit.tools.registry import ToolRegistry, ToolResult

CONFIG_KEY = "agentkit"
DEFAULT_TOOL_REPEAT_LIMIT = 3  # the same tool with the same arguments, per run
EVENT_DEGRADED = "agentkit.degraded"
EVENT_PROMPT = "agentkit.prompt"


@dataclass
class RunContext:
    """Per-run state that is not workflow data. Thread-safe where nodes may run in parallel."""

    agent: str
    budget: RunBudget
    model: ModelInterface | None = None  # None: no model tier at all (fully degraded)
    tools: ToolRegistry | None = None
    max_tokens: int = 1024
    offline_reason: str | None = None  # why there is no model tier, said once
    conversation_id: str | None = None
    degraded_reasons: list[str] = field(default_factory=list)
    budget_exceeded: str | None = None  # the budget kind that ran out, if one did
    answered_by: dict[str, str] = field(default_factory=dict)  # region/model of the last answer
    fell_back: bool = False  # an answer came from a route other than the first one tried
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    on_text: Callable[[str], None] | None = None  # streamed answer text, for chat front ends
    can_pause: bool = False  # a checkpointer keeps the run: an approval may interrupt it
    tool_repeat_limit: int = DEFAULT_TOOL_REPEAT_LIMIT
    span: Span | None = field(default=None, repr=False)  # the run's invoke_agent span
    # Made when the runtime was built (in the command's or server's telemetry scope); None: the
    # providers current when an event happens.
    guardrail_metrics: GuardrailMetrics | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _repeats: Counter[str] = field(default_factory=Counter, repr=False)

    @property
    def degraded(self) -> bool:
        return bool(self.degraded_reasons)

    def degrade(self, reason: str) -> None:
        """Mark the run degraded; each distinct reason is recorded once."""
        with self._lock:
            if reason in self.degraded_reasons:
                return
            self.degraded_reasons.append(reason)
        self._run_span().add_event(EVENT_DEGRADED, {"reason": reason})

    def guardrail_event(self, stage: str, action: str, detail: str) -> None:
        """A guard acted: an event on the run's span (with ``detail``) and one count of
        ``agentkit.guardrail.events`` (guard, action and kind only, never the text)."""
        (self.guardrail_metrics or GuardrailMetrics()).record(stage, action, detail)
        self._run_span().add_event(
            EVENT_GUARDRAIL, {"stage": stage, "action": action, "detail": detail}
        )

    def prompt_used(self, name: str, version: str) -> None:
        """Record which prompt template (and version) a step used, on the run's span."""
        self._run_span().add_event(EVENT_PROMPT, {"name": name, "version": version})

    def _run_span(self) -> Span:
        """Run-level events go on the ``invoke_agent`` span, whichever step they come from."""
        return self.span if self.span is not None else trace.get_current_span()

    def call_tool(self, name: str, payload: Any, *, call_id: str | None = None) -> ToolResult:
        """Call a tool of the registry: counted against the repeat limit, kept in the run's
        checkpoint (inside a run), and recorded in the run's tool calls."""
        if self.tools is None:
            raise ToolNotFound(f"no tool registry in this run; cannot call {name!r}")
        name = self._rerouted(name)
        self._count_repeat(name, payload)
        with self._on_the_clock():
            if _inside_run():
                result = ToolResult(**_durable_call(name, payload, call_id).result())
            else:
                result = self.tools.call(name, payload, call_id=call_id, timeout_s=self.time_left())
        self.record_tool_call(result.name, result.version, payload, result.output)
        return result

    async def acall_tool(
        self, name: str, payload: Any, *, call_id: str | None = None
    ) -> ToolResult:
        """:meth:`call_tool` from an async node: the same limits, checkpoint and record. The
        registry's call is synchronous (its bulkhead waits on a thread), so it is waited on in
        a worker thread for the length of the call, never on the event loop."""
        if self.tools is None:
            raise ToolNotFound(f"no tool registry in this run; cannot call {name!r}")
        name = self._rerouted(name)
        self._count_repeat(name, payload)
        with self._on_the_clock():
            if _inside_run():
                result = ToolResult(**await _adurable_call(name, payload, call_id))
            else:
                result = await _in_thread(self.tools, name, payload, call_id, self.time_left())
        self.record_tool_call(result.name, result.version, payload, result.output)
        return result

    def time_left(self) -> float | None:
        """Seconds left of the run's wall-clock budget (None: it has no wall-clock limit)."""
        budget: RunBudget | None = self.budget  # None where a test builds a context by hand
        if budget is None or budget.limits.wall_clock_s is None:
            return None
        return budget.limits.wall_clock_s - budget.elapsed_s

    @contextlib.contextmanager
    def _on_the_clock(self) -> Iterator[None]:
        """A tool call within the run's wall-clock budget: none starts once it is used up, and
        one that failed as it ran out (its deadline was the budget's) stops the run."""
        self._check_time()
        try:
            yield
        except ToolFailed as error:
            left = self.time_left()
            if left is not None and left <= 0:
                raise self._exceeded() from error
            raise

    def _check_time(self) -> None:
        left = self.time_left()
        if left is not None and left <= 0:
            raise self._exceeded()

    def _exceeded(self) -> BudgetExceeded:
        limit = self.budget.limits.wall_clock_s
        return BudgetExceeded("wall_clock_s", limit or 0.0, self.budget.elapsed_s)

    def _rerouted(self, name: str) -> str:
        """The tool the operator re-routed ``name`` to, when it answers in the same response
        schema (said on the run's span either way), else ``name``."""
        target = ops.current().tools.get(name)
        if target is None or self.tools is None:
            return name
        try:
            same = (
                self.tools.contract(name).response_schema
                == self.tools.contract(target).response_schema
            )
        except ToolNotFound:
            same = False
        event = "agentkit.ops.tool_rerouted" if same else "agentkit.ops.reroute_ignored"
        self._run_span().add_event(event, {"tool": name, "to": target})
        return target if same else name

    def _count_repeat(self, name: str, payload: Any) -> None:
        arguments = json.dumps(payload, sort_keys=True, default=str)
        with self._lock:
            self._repeats[f"{name}:{arguments}"] += 1
            count = self._repeats[f"{name}:{arguments}"]
        if count > self.tool_repeat_limit:
            raise ToolLoop(name, self.tool_repeat_limit)

    def record_tool_call(self, name: str, version: str, payload: Any, output: Any) -> None:
        with self._lock:
            self.tool_calls.append(
                {"name": name, "version": version, "input": payload, "output": output}
            )


def run_context(config: RunnableConfig) -> RunContext:
    """The :class:`RunContext` of the run a node belongs to (nodes take ``config`` as 2nd arg)."""
    context = (config.get("configurable") or {}).get(CONFIG_KEY)
    if not isinstance(context, RunContext):
        raise RuntimeError("this node must run under agentkit.graph.AgentRuntime")
    return context


def _inside_run() -> bool:
    try:
        get_config()
    except RuntimeError:
        return False
    return True


def _tool_call(name: str, payload: Any, call_id: str | None) -> dict[str, Any]:
    """One tool call as a LangGraph task: its result goes into the checkpoint as it returns,
    and a node run again after a crash or a resume reads it back instead of calling again."""
    ctx = run_context(get_config())
    assert ctx.tools is not None
    return asdict(ctx.tools.call(name, payload, call_id=call_id, timeout_s=ctx.time_left()))


_durable_call = task(_tool_call)


async def _atool_call(name: str, payload: Any, call_id: str | None) -> dict[str, Any]:
    """:func:`_tool_call` for an async run, under the same task name, so a run recovered the
    other way still finds the stored results."""
    ctx = run_context(get_config())
    assert ctx.tools is not None
    return asdict(await _in_thread(ctx.tools, name, payload, call_id, ctx.time_left()))


async def _in_thread(
    tools: ToolRegistry, name: str, payload: Any, call_id: str | None, timeout_s: float | None
) -> ToolResult:
    return await anyio.to_thread.run_sync(
        lambda: tools.call(name, payload, call_id=call_id, timeout_s=timeout_s)
    )


_atool_call.__name__ = _tool_call.__name__  # the task's name (LangGraph keys results by it)
_adurable_call = task(_atool_call)
