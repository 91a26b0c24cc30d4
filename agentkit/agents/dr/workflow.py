"""The DR advisor workflow: an explicit LangGraph graph; the model only fills in two steps.

guard input -> extract requirements (model, checked against the deterministic parser; merged
over the conversation's stored requirements, so a follow-up changes them) -> ask for RTO/RPO
when missing -> dr_advisor tool -> failover_runbook tool -> compose (model, grounded in the tool
results; template fallback) -> guard output. Input the advisor cannot use (an unreadable
residency, a primary Region outside it) ends the turn with an ``input_error`` answer.

Every node has an async variant for ``AgentRuntime.arun``: the model steps await the model, the
tool calls wait in a worker thread for the length of the call, and the steps that only compute
run on the event loop. Two nodes call synchronous boto3 and run in a worker thread under
``arun``: the input guard when a Bedrock guardrail's prompt-attack filter is configured, and the
documentation search when a Knowledge Base is.
"""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import anyio.to_thread
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from agentkit.agents.dr.answer import render_answer, render_question_for_targets
from agentkit.agents.dr.parser import Requirements, parse_requirements
from agentkit.agents.dr.sources import FindSources, render_sources
from agentkit.errors import ToolError, ToolInputInvalid
from agentkit.graph import (
    RunContext,
    StepOutcome,
    approval,
    astructured_step,
    atext_step,
    inline,
    node,
    run_context,
    structured_step,
    text_step,
)
from agentkit.guardrails import InputGuard, OutputGuard
from agentkit.guardrails.injection import HeuristicClassifier
from agentkit.guardrails.stream import GuardedText
from agentkit.paths import data_dir
from agentkit.prompts import load_prompt
from agentkit.tools.contracts import load_contract

AGENT_NAME = "dr-advisor"


@functools.lru_cache(maxsize=1)
def extraction_schema() -> dict[str, Any]:
    """What the model may extract: the dr_advisor request's own properties (derived from the
    contract, so the two cannot drift), none required, nothing else."""
    contract = load_contract(data_dir("tools") / "dr_advisor" / "v2")
    return {
        "type": "object",
        "properties": dict(contract.request_schema["properties"]),
        "additionalProperties": False,
    }


class DRState(TypedDict, total=False):
    question: str
    history: Annotated[list[str], operator.add]  # every question of this conversation
    # {"question", "answer"} per turn, and "approval": the decision on its high-stakes advice
    turns: Annotated[list[dict[str, Any]], operator.add]
    requirements: dict[str, Any]
    extracted_by: str  # "model", "parser"
    advice: dict[str, Any]
    runbooks: dict[str, Any]
    answer: str
    answer_source: str  # "model", "template", "refusal", "question", "input_error"
    refusal: str | None
    changes: list[dict[str, Any]]  # requirements this turn changed: {"field", "before", "after"}
    previous_strategy: str | None
    # {"status": approved|declined|required, "by", "reasons"} and, for a timeout, "note"
    approval: dict[str, Any] | None
    asked_at: float  # when this turn's question was asked (unix s): a pending approval's age
    sources: dict[str, Any] | None  # documentation passages (knowledge_search), after the advice


@dataclass(frozen=True)
class GuardInput:
    """The input guard node: PII and secrets redacted, injection and off-topic refused."""

    guard: InputGuard

    def __call__(self, state: DRState, config: RunnableConfig) -> DRState:
        ctx = run_context(config)
        verdict = self.guard.check(state["question"])
        return self._decided(ctx, verdict)

    async def acall(self, state: DRState, config: RunnableConfig) -> DRState:
        """The node under ``arun``: a Bedrock guardrail's filter (boto3) in a worker thread,
        the local heuristics on the loop."""
        ctx = run_context(config)
        if isinstance(self.guard.classifier, HeuristicClassifier):
            verdict = self.guard.check(state["question"])
        else:
            verdict = await anyio.to_thread.run_sync(self.guard.check, state["question"])
        return self._decided(ctx, verdict)

    def _decided(self, ctx: RunContext, verdict: Any) -> DRState:
        for reason in verdict.reasons:
            ctx.guardrail_event("input", "blocked" if not verdict.allowed else "redacted", reason)
        if not verdict.allowed:
            refusal = verdict.refusal or "I can't help with that request."
            return {
                "question": verdict.text,
                "refusal": refusal,
                "answer": refusal,
                "answer_source": "refusal",
            }
        return {"question": verdict.text, "refusal": None}


def extract(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    return _extracted(state, structured_step(ctx, **_extraction(state, ctx)))


async def aextract(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    return _extracted(state, await astructured_step(ctx, **_extraction(state, ctx)))


def _extraction(state: DRState, ctx: RunContext) -> dict[str, Any]:
    """The extraction step's arguments: the question, with the earlier ones as context."""
    history = recent(state.get("history", [])[:-1])  # the questions before this one
    prompt = load_prompt("dr_advisor.extract")
    ctx.prompt_used(prompt.name, prompt.version)
    return {
        "name": "requirements",
        "description": prompt.description,
        "schema": extraction_schema(),
        "system": cacheable_system(*prompt.render_split(history="\n".join(history) or "(nothing)")),
        "messages": [{"role": "user", "content": [{"text": state["question"]}]}],
        "fallback": lambda: {},
        "cached_system_blocks": 1,  # the tool spec and the instructions; the history changes
    }


def _extracted(state: DRState, outcome: StepOutcome[dict[str, Any]]) -> DRState:
    parsed = parse_requirements(state["question"])
    stored = state.get("requirements") or {}
    earlier = Requirements.from_json(stored)
    # The model proposes, code decides: the parser's reading of the text wins; the model may
    # only fill gaps with values the question actually contains.
    merged = parsed.merged_over(_grounded(outcome.value, state["question"])).merged_over(earlier)
    update: DRState = {
        "requirements": merged.to_json(),
        "extracted_by": outcome.source,
        "changes": changed_requirements(stored, merged.to_json()) if stored else [],
        "previous_strategy": (state.get("advice") or {}).get("strategy") if stored else None,
        "refusal": None,
    }
    if parsed.problems:
        message = "; ".join(parsed.problems)
        update["answer"] = update["refusal"] = message
        update["answer_source"] = "input_error"
    return update


# Context budget for the extract prompt's history: the newest earlier questions, at most
# HISTORY_TURNS of them and HISTORY_CHARS in all (about 4,000 tokens at 4 characters a token).
# Older turns are not lost: what they said lives on in the stored requirements, which decide.
HISTORY_TURNS = 10
HISTORY_CHARS = 16_000


def recent(history: list[str]) -> list[str]:
    """The newest earlier questions that fit the history budget, oldest first."""
    kept: list[str] = []
    used = 0
    for question in reversed(history[-HISTORY_TURNS:]):
        if used + len(question) > HISTORY_CHARS:
            break
        kept.append(question)
        used += len(question)
    return kept[::-1]


def _tracked() -> list[str]:
    """The requirements a follow-up can change: every request field but the workload's name."""
    return [key for key in extraction_schema()["properties"] if key != "workload"]


def changed_requirements(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The requirements a follow-up changed, in a stable order."""
    return [
        {"field": key, "before": before.get(key), "after": after.get(key)}
        for key in _tracked()
        if before.get(key) != after.get(key)
    ]


def _grounded(proposed: dict[str, Any], question: str) -> Requirements:
    lowered = question.lower()
    keep = Requirements()
    for key in ("rto_minutes", "rpo_minutes", "tier"):
        value = proposed.get(key)
        if value is not None and _number_in(value, lowered):
            setattr(keep, key, value)
    for key in ("workload", "primary_region"):
        value = proposed.get(key)
        if isinstance(value, str) and value.lower() in lowered:
            setattr(keep, key, value)
    return keep


def _number_in(value: float, text: str) -> bool:
    candidates = {value, value / 60, value * 60, value / 1440}
    return any(f"{c:g}" in text for c in candidates if c == int(c) or c < 1)


def finish(state: DRState) -> DRState:
    turn: dict[str, Any] = {"question": state["question"], "answer": state.get("answer", "")}
    if state.get("approval"):  # kept with the turn: the next turn's approval starts empty
        turn["approval"] = state["approval"]
    return {"turns": [turn]}


def needs_targets(state: DRState) -> str:
    if state.get("answer_source") == "input_error" and state.get("refusal"):
        return "finish"
    missing = [k for k in ("rto_minutes", "rpo_minutes") if k not in state.get("requirements", {})]
    return "ask" if missing else "advise"


def ask(state: DRState, config: RunnableConfig) -> DRState:
    return {
        "answer": render_question_for_targets(state.get("requirements", {})),
        "answer_source": "question",
    }


def advise(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    try:
        advice = ctx.call_tool("dr_advisor", _advisor_request(state["requirements"])).output
    except ToolError as error:
        return _not_advised(error)
    runbooks = _call_tool(ctx, "failover_runbook", _runbook_request(advice))
    return {"advice": advice, "runbooks": runbooks, "refusal": None}


async def aadvise(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    try:
        result = await ctx.acall_tool("dr_advisor", _advisor_request(state["requirements"]))
    except ToolError as error:
        return _not_advised(error)
    advice = result.output
    runbooks = (await ctx.acall_tool("failover_runbook", _runbook_request(advice))).output
    return {"advice": advice, "runbooks": runbooks, "refusal": None}


def _not_advised(error: ToolError) -> DRState:
    if isinstance(error, ToolInputInvalid):
        message = str(error)
        return {"answer": message, "answer_source": "input_error", "refusal": message}
    return {
        "answer": f"I could not evaluate these requirements: {error}",
        "answer_source": "refusal",
        "refusal": str(error),
    }


def _call_tool(ctx: RunContext, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    return ctx.call_tool(name, payload).output


def _advisor_request(requirements: dict[str, Any]) -> dict[str, Any]:
    """The tool request: what was said, no more. The tool chooses a primary inside the
    residency when none was named, and says so."""
    fields = extraction_schema()["properties"]
    request = {k: v for k, v in requirements.items() if k in fields}
    request.setdefault("workload", "workload")
    return request


def _runbook_request(advice: dict[str, Any]) -> dict[str, Any]:
    targets = advice.get("target_regions") or []
    ids = advice.get("runbooks", [])
    query: dict[str, Any] = {
        "runbook_ids": ids,
        "strategy": advice["strategy"],
        "max_runbooks": max(1, min(len(ids), 8)),
    }
    if targets:
        query["regions"] = {"source": advice["primary_region"], "target": targets[0]}
    return query


def compose(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    arguments, streamed = _composition(state, ctx)
    return _composed(state, text_step(ctx, **arguments), streamed)


async def acompose(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    arguments, streamed = _composition(state, ctx)
    return _composed(state, await atext_step(ctx, **arguments), streamed)


def _composition(state: DRState, ctx: RunContext) -> tuple[dict[str, Any], GuardedText | None]:
    """The compose step's arguments, and the guard the streamed text goes through."""
    results = {
        "dr_advisor": state["advice"],
        "failover_runbook": state["runbooks"],
        "this_turn": _turn(state),
    }
    sources = state.get("sources")
    if sources:
        results["knowledge_search"] = sources
    prompt = load_prompt("dr_advisor.compose")
    ctx.prompt_used(prompt.name, prompt.version)
    # What streams to the user is guarded at the source: redacted and grounded a sentence at a
    # time, never raw model text. Advice that waits for an approval is not streamed at all.
    on_text = None if approval_reasons(state) else ctx.on_text
    streamed = GuardedText(on_text, _evidence(state)) if on_text else None
    instructions, results_text = prompt.render_split(
        tool_results=json.dumps(results, indent=1, sort_keys=True)
    )
    # The decision's results (advice, runbooks, sources) are the same for the same
    # requirements; only this_turn, last in key order, is new on each turn.
    decision, _, turn = results_text.rpartition(_THIS_TURN)
    stable = instructions + decision if decision else instructions
    arguments = {
        "system": cacheable_system(stable, _THIS_TURN + turn if decision else results_text),
        "cached_system_blocks": 1,
        "messages": [{"role": "user", "content": [{"text": state["question"]}]}],
        "fallback": lambda: render_answer(
            state["advice"], state["runbooks"], state["requirements"], _turn(state)
        ),
        "on_text": streamed,
    }
    return arguments, streamed


def _composed(state: DRState, outcome: StepOutcome[str], streamed: GuardedText | None) -> DRState:
    block = render_sources(state.get("sources"))
    if streamed is not None:
        if block and outcome.source == "model":
            streamed("\n\n" + block)
        streamed.close()
    source = "model" if outcome.source == "model" else "template"
    return {"answer": _with_sources(outcome.value, block), "answer_source": source}


_THIS_TURN = '\n "this_turn": '  # where json.dumps(..., indent=1, sort_keys=True) puts it


def cacheable_system(stable: str, rest: str) -> list[dict[str, Any]]:
    """System blocks: the part that is the same on every turn first (a prompt cache prefix,
    cached on the models that support it), then the rest; together, the prompt's exact text."""
    return [{"text": part} for part in (stable, rest) if part]


def guard_output(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    verdict = OutputGuard().check(state["answer"], _evidence(state))
    for reason in verdict.reasons:
        ctx.guardrail_event("output", "replaced" if verdict.replace else "redacted", reason)
    if verdict.replace and state.get("advice"):
        answer = render_answer(
            state["advice"], state["runbooks"], state["requirements"], _turn(state)
        )
        block = render_sources(state.get("sources"))
        return {"answer": _with_sources(answer, block), "answer_source": "template"}
    return {"answer": verdict.text}


SAFE_OPTION = (
    "Not approved, so the safe option stands: plan no unplanned failover that accepts data loss "
    "(a planned switchover only, with an incident commander's decision at the time) and no "
    "copy out of the partition. Ask again once the data owner has signed the trade-off."
)

# What high-stakes advice asks a person to accept, by code (advisor.approvals_needed)
_ACCEPTS = {
    "DATA_LOSS_ACCEPTED": "data loss beyond the RPO",
    "CROSS_PARTITION_COPY": "a copy out of the partition",
}


def approval_reasons(state: DRState) -> list[str]:
    """Why this turn's advice needs a person's approval (none: it does not), each reason led by
    what it accepts."""
    needed = (state.get("advice") or {}).get("approval_required") or []
    return [f"{_ACCEPTS.get(item['code'], item['code'])}: {item['reason']}" for item in needed]


def awaiting_approval(reasons: list[str]) -> str:
    """What is shown in place of advice that waits for an approval: what needs it and why,
    never the advice itself."""
    listed = "\n".join(f"- {reason}" for reason in reasons)
    return (
        "Approval required: this advice is withheld until a person approves it. It accepts:\n"
        f"{listed}\n\nApproved, the advice is shown; declined, or not decided before the "
        "approval times out, the safe option stands instead."
    )


def approve(state: DRState, config: RunnableConfig) -> DRState:
    """High-stakes advice pauses for a person's approval (a LangGraph interrupt) when the run
    can pause; a decline, or a timeout in the front end, replaces the advice by the safe
    option. The request carries when the question was asked, for a front end's timeout."""
    reasons = approval_reasons(state)
    if not reasons or state.get("answer_source") in ("refusal", "question", "input_error"):
        return {"approval": None}
    if not run_context(config).can_pause:
        return {"approval": {"status": "required", "reasons": reasons}}
    request = {"kind": "high_stakes_advice", "reasons": reasons, "asked_at": state.get("asked_at")}
    decision = approval(request)
    reply = decision if isinstance(decision, dict) else {}
    approved = bool(reply.get("approved"))
    record = {
        "status": "approved" if approved else "declined",
        "by": str(reply.get("by", "")),
        "reasons": reasons,
    }
    if reply.get("note"):  # why it was decided so, e.g. no decision before the timeout
        record["note"] = str(reply["note"])
    if approved:
        return {"approval": record}
    return {"approval": record, "answer": SAFE_OPTION}


def _evidence(state: DRState) -> list[Any]:
    """What an answer may state: the tool results of this turn, documentation included."""
    evidence: list[Any] = [state.get("advice", {}), state.get("runbooks", {}), _turn(state)]
    if state.get("sources"):
        evidence.append(state["sources"])
    return evidence


def _with_sources(answer: str, block: str) -> str:
    return f"{answer.rstrip()}\n\n{block}" if block else answer


def _turn(state: DRState) -> dict[str, Any]:
    """What this turn changed, for the answer and its grounding check."""
    return {
        "changes": state.get("changes", []),
        "previous_strategy": state.get("previous_strategy"),
    }


def build_graph(
    input_guard: InputGuard | None = None, documentation: str | None = None
) -> StateGraph[Any, Any, Any, Any]:
    """The workflow; ``input_guard`` may add a Bedrock guardrail's prompt-attack filter to the
    local heuristics (see :func:`agentkit.agents.dr.agent.build_advisor`); ``documentation``
    names the Knowledge Base searched for sources after the advice (none: no search)."""
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(DRState)
    guard = GuardInput(input_guard or InputGuard())
    graph.add_node("guard_input", node(guard, guard.acall, name="guard_input"))
    graph.add_node("extract", node(extract, aextract))
    graph.add_node("ask", node(ask))
    graph.add_node("advise", node(advise, aadvise))
    graph.add_node("compose", node(compose, acompose))
    graph.add_node("guard_output", node(guard_output))
    graph.add_node("finish", node(finish))
    graph.add_edge(START, "guard_input")
    graph.add_conditional_edges("guard_input", inline(_after_guard))
    graph.add_conditional_edges("extract", inline(needs_targets))
    graph.add_edge("ask", "finish")
    explain = "compose"
    if documentation is not None:  # a step only when a documentation Knowledge Base is set
        search = FindSources(documentation)
        graph.add_node("sources", node(search, _in_a_thread(search), name="sources"))
        graph.add_edge("sources", "compose")
        explain = "sources"
    graph.add_conditional_edges(
        "advise", inline(lambda s: "finish" if s.get("refusal") else explain)
    )
    graph.add_edge("compose", "guard_output")
    graph.add_node("approve", node(approve))
    graph.add_edge("guard_output", "approve")
    graph.add_edge("approve", "finish")
    graph.add_edge("finish", END)
    return graph


def _after_guard(state: DRState) -> str:
    return "finish" if state.get("refusal") else "extract"


def _in_a_thread(search: FindSources) -> Any:
    """The documentation search under ``arun``: the Knowledge Base client is synchronous
    (boto3), so it waits in a worker thread, off the event loop."""

    async def asearch(state: DRState, config: RunnableConfig) -> DRState:
        return await anyio.to_thread.run_sync(search, state, config)

    return asearch
