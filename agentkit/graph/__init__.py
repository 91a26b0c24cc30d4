"""LangGraph building blocks: explicit workflows with limits, budgets, fallbacks and traces."""

from agentkit.graph.context import RunContext, run_context
from agentkit.graph.nodes import inline, node
from agentkit.graph.runtime import AgentRuntime, RunResult, approval
from agentkit.graph.steps import (
    StepOutcome,
    astructured_step,
    atext_step,
    structured_step,
    text_step,
)

__all__ = [
    "AgentRuntime",
    "RunContext",
    "RunResult",
    "StepOutcome",
    "approval",
    "astructured_step",
    "atext_step",
    "inline",
    "node",
    "run_context",
    "structured_step",
    "text_step",
]
