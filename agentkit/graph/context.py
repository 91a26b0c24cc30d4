"""What every node of a run can reach: the model, the tools, the budget, and the run's notes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from opentelemetry import trace
from opentelemetry.trace import Span

from agentkit.bedrock.types import ModelInterface
from agentkit.resilience.budget import RunBudget
from agentkit.tools.registry import ToolRegistry

CONFIG_KEY = "agentkit"
EVENT_GUARDRAIL = "agentkit.guardrail"
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
    span: Span | None = field(default=None, repr=False)  # the run's invoke_agent span
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        self._run_span().add_event(
            EVENT_GUARDRAIL, {"stage": stage, "action": action, "detail": detail}
        )

    def prompt_used(self, name: str, version: str) -> None:
        """Record which prompt template (and version) a step used, on the run's span."""
        self._run_span().add_event(EVENT_PROMPT, {"name": name, "version": version})

    def _run_span(self) -> Span:
        """Run-level events go on the ``invoke_agent`` span, whichever step they come from."""
        return self.span if self.span is not None else trace.get_current_span()

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
