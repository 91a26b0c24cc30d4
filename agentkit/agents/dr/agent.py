"""Assemble the DR advisor: configuration in, an :class:`AgentRuntime` out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import TracerProvider

from agentkit.agents.dr.sources import documentation_knowledge_base
from agentkit.agents.dr.workflow import AGENT_NAME, awaiting_approval, build_graph
from agentkit.agents.tools import builtin_registry
from agentkit.bedrock.tier import model_tier
from agentkit.bedrock.types import ModelInterface
from agentkit.config import AgentkitConfig
from agentkit.graph import AgentRuntime, RunContext, RunResult
from agentkit.guardrails import InputGuard
from agentkit.guardrails.injection import prompt_attack_classifier
from agentkit.guardrails.pii import redact, redact_value
from agentkit.resilience.budget import BudgetLimits
from agentkit.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agentkit.bedrock.knowledge import KnowledgeRetriever


def run_budget_limits(config: AgentkitConfig) -> BudgetLimits:
    """Tokens and wall clock per run, and dollars when ``limits.run_cost_budget_usd`` is set
    (every route priced by the price table, or :class:`ConfigError`)."""
    limits = config.limits
    price = None
    if limits.run_cost_budget_usd is not None:
        from agentkit.capacity.prices import route_pricer

        price = route_pricer(config.models.routes)
    return BudgetLimits(
        tokens=limits.run_token_budget,
        wall_clock_s=limits.deadline_s,
        cost_usd=limits.run_cost_budget_usd,
        price=price,
    )


def build_advisor(
    config: AgentkitConfig,
    *,
    checkpointer: Any = None,
    tracer_provider: TracerProvider | None = None,
    model: ModelInterface | str | None = "auto",
    tools: ToolRegistry | None = None,
) -> AgentRuntime:
    offline: str | None = None
    if model == "auto":
        model, offline = model_tier(config, tracer_provider)
    assert not isinstance(model, str)
    limits = config.limits
    return AgentRuntime(
        AGENT_NAME,
        build_graph(input_guard(config, model), documentation_knowledge_base(config)),
        model=model,
        tools=tools
        or builtin_registry(
            knowledge=knowledge_retriever(config, tracer_provider),
            tracer_provider=tracer_provider,
            capture_content=redact_value if config.telemetry.capture_content else None,
        ),
        recursion_limit=limits.recursion_limit,
        tool_repeat_limit=limits.tool_repeat_limit,
        budget_limits=run_budget_limits(config),
        max_tokens=limits.max_tokens,
        offline_reason=offline,
        checkpointer=checkpointer,
        tracer_provider=tracer_provider,
    )


def knowledge_retriever(
    config: AgentkitConfig, tracer_provider: TracerProvider | None = None
) -> KnowledgeRetriever | None:
    """The retriever of the configured Knowledge Bases (``knowledge_search``), if any."""
    if not config.knowledge_bases:
        return None
    from agentkit.bedrock.knowledge import KnowledgeRetriever

    return KnowledgeRetriever.from_config(config, tracer_provider=tracer_provider)


def input_guard(config: AgentkitConfig, model: ModelInterface | None) -> InputGuard:
    """The local guards, plus the prompt-attack filter of the Bedrock guardrail configured for
    the primary route's Region when the model tier is the gateway (it owns the clients)."""
    from agentkit.bedrock.gateway import Gateway

    region = config.models.routes[0].region
    ref = config.guardrails.get(region)
    if ref is None or not isinstance(model, Gateway):
        return InputGuard()
    client = model.clients.client(region)
    return InputGuard(classifier=prompt_attack_classifier(client, ref.id, ref.version))


@dataclass(frozen=True)
class Answer:
    """One turn of the DR advisor, in the shape ``agentkit ask --json`` prints."""

    answer: str
    degraded: bool
    degraded_reason: str | None
    strategy: str | None
    tool_calls: list[dict[str, Any]]
    region: str | None
    model: str | None
    fell_back: bool
    source: str
    session: str
    # High-stakes advice: {"status": pending | required | approved | declined, "reasons", "by"}
    approval: dict[str, Any] | None = None
    # The advice that waits for that approval, withheld: ``answer`` says what needs approving
    # and why. Never in :meth:`to_json`; ``agentkit ask`` prints it marked as pending approval.
    withheld: str | None = None

    @property
    def needs_approval(self) -> bool:
        return self.approval is not None and self.approval["status"] in ("pending", "required")

    @classmethod
    def from_run(cls, result: RunResult) -> Answer:
        state = result.state
        approval = state.get("approval")
        if result.stop_reason == "interrupted":
            request = result.interrupt if isinstance(result.interrupt, dict) else {}
            approval = {"status": "pending", "reasons": list(request.get("reasons", []))}
        answer, withheld = state.get("answer", ""), None
        if approval is not None and approval["status"] in ("pending", "required"):
            answer, withheld = awaiting_approval(approval["reasons"]), answer
        return cls(
            answer=answer,
            degraded=result.degraded,
            degraded_reason=result.degraded_reason,
            strategy=(state.get("advice") or {}).get("strategy")
            if state.get("answer_source") in ("model", "template")
            else None,
            tool_calls=list(result.tool_calls),
            region=result.answered_by.get("region"),
            model=result.answered_by.get("model"),
            fell_back=result.fell_back,
            source=state.get("answer_source", ""),
            session=result.thread_id,
            approval=approval,
            withheld=withheld,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "degraded": self.degraded,
            "degraded_reason": self.degraded_reason,
            "strategy": self.strategy,
            "tool_calls": self.tool_calls,
            "region": self.region,
            "model": self.model,
            "fell_back": self.fell_back,
            "answer_source": self.source,
            "session": self.session,
            "approval": self.approval,
        }


def ask(
    runtime: AgentRuntime,
    question: str,
    session: str | None = None,
    on_text: Callable[[str], None] | None = None,
    asked_at: float | None = None,
) -> Answer:
    """One turn. PII and secrets are redacted before the question is stored anywhere.
    ``asked_at`` (unix s, default now) is stored with the turn: the age of an approval it
    leaves pending."""
    inputs, attach = _turn(question, on_text, asked_at)
    return Answer.from_run(runtime.run(inputs, thread_id=session, on_context=attach))


async def aask(
    runtime: AgentRuntime,
    question: str,
    session: str | None = None,
    on_text: Callable[[str], None] | None = None,
    asked_at: float | None = None,
) -> Answer:
    """:func:`ask` on the event loop (``AgentRuntime.arun``); ``on_text`` is called there."""
    inputs, attach = _turn(question, on_text, asked_at)
    return Answer.from_run(await runtime.arun(inputs, thread_id=session, on_context=attach))


def _turn(
    question: str, on_text: Callable[[str], None] | None, asked_at: float | None
) -> tuple[dict[str, Any], Callable[[RunContext], None]]:
    question = redact(question).text

    def attach(ctx: RunContext) -> None:
        ctx.on_text = on_text

    asked = time.time() if asked_at is None else asked_at
    # A turn starts with no approval: an earlier turn's decision stays in that turn's record.
    inputs = {"question": question, "history": [question], "asked_at": asked, "approval": None}
    return inputs, attach


def decide(
    runtime: AgentRuntime, session: str, approved: bool, by: str, note: str | None = None
) -> Answer:
    """Resume a turn paused for approval with a decision (declined: the safe option replaces
    the advice); ``by`` and ``note`` (why, e.g. a timeout) are recorded with the session."""
    return Answer.from_run(runtime.run(thread_id=session, resume=_decision(approved, by, note)))


async def adecide(
    runtime: AgentRuntime, session: str, approved: bool, by: str, note: str | None = None
) -> Answer:
    """:func:`decide` on the event loop."""
    resume = _decision(approved, by, note)
    return Answer.from_run(await runtime.arun(thread_id=session, resume=resume))


TIMED_OUT = "timeout"  # who declined an approval nobody decided in time (chat, serve)


def _decision(approved: bool, by: str, note: str | None) -> dict[str, Any]:
    decision: dict[str, Any] = {"approved": approved, "by": by}
    if note:
        decision["note"] = note
    return decision


@dataclass(frozen=True)
class Pending:
    """The approval a session is paused on: why, and when its question was asked (unix s;
    None for a turn paused before that was recorded)."""

    reasons: list[str]
    asked_at: float | None


def pending(runtime: AgentRuntime, session: str) -> Pending | None:
    """The approval ``session`` is paused on, or None."""
    return _pending_request(runtime.graph.get_state({"configurable": {"thread_id": session}}))


async def apending(runtime: AgentRuntime, session: str) -> Pending | None:
    """:func:`pending` on the event loop (the checkpointer's async reads)."""
    snapshot = await runtime.graph.aget_state({"configurable": {"thread_id": session}})
    return _pending_request(snapshot)


def pending_approval(runtime: AgentRuntime, session: str) -> list[str] | None:
    """The reasons of an approval ``session`` is paused on (an ``ask --session`` left it), or
    None."""
    found = pending(runtime, session)
    return found.reasons if found is not None else None


def _pending_request(snapshot: Any) -> Pending | None:
    for interrupt in getattr(snapshot, "interrupts", ()) or ():
        value = getattr(interrupt, "value", None)
        if isinstance(value, dict) and value.get("kind") == "high_stakes_advice":
            asked_at = value.get("asked_at")
            return Pending(
                reasons=[str(reason) for reason in value.get("reasons", [])],
                asked_at=float(asked_at) if isinstance(asked_at, int | float) else None,
            )
    return None


def history(runtime: AgentRuntime, session: str) -> list[dict[str, Any]]:
    """The earlier turns of ``session`` ({"question", "answer"}, and "approval" for high-stakes
    advice), from the checkpointer."""
    snapshot = runtime.graph.get_state({"configurable": {"thread_id": session}})
    return list((snapshot.values or {}).get("turns", []))
