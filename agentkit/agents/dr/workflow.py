"""The DR advisor workflow: an explicit LangGraph graph; the model only fills in two steps.

guard input -> extract requirements (model, checked against the deterministic parser) -> ask for
RTO/RPO when missing -> dr_advisor tool -> failover_runbook tool -> compose (model, grounded in the
tool results; template fallback) -> guard output.
"""

from __future__ import annotations

import json
import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from agentkit.agents.dr.answer import render_answer, render_question_for_targets
from agentkit.agents.dr.parser import Requirements, parse_requirements
from agentkit.errors import ToolError
from agentkit.graph import RunContext, run_context, structured_step, text_step
from agentkit.guardrails import InputGuard, OutputGuard
from agentkit.prompts import load_prompt

AGENT_NAME = "dr-advisor"
EXTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "workload": {"type": "string"},
        "rto_minutes": {"type": "number", "exclusiveMinimum": 0},
        "rpo_minutes": {"type": "number", "minimum": 0},
        "tier": {"type": "integer", "minimum": 0, "maximum": 3},
        "budget_sensitivity": {"enum": ["low", "medium", "high"]},
        "primary_region": {"type": "string"},
        "candidate_regions": {"type": "array", "items": {"type": "string"}},
        "residency": {"type": "array", "items": {"type": "string"}},
        "data_stores": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "type": {"type": "string"}},
                "required": ["type"],
            },
        },
        "compute": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"type": {"type": "string"}},
                "required": ["type"],
            },
        },
    },
    "additionalProperties": False,
}


class DRState(TypedDict, total=False):
    question: str
    history: Annotated[list[str], operator.add]  # every question of this conversation
    turns: Annotated[list[dict[str, str]], operator.add]  # {"question", "answer"} per turn
    requirements: dict[str, Any]
    extracted_by: str  # "model", "parser"
    advice: dict[str, Any]
    runbooks: dict[str, Any]
    answer: str
    answer_source: str  # "model", "template", "refusal", "question"
    refusal: str | None


def guard_input(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    verdict = InputGuard().check(state["question"])
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
    history = state.get("history", [])[:-1]  # the questions before this one
    parsed = parse_requirements(state["question"])
    earlier = Requirements()
    for text in history:
        earlier = parse_requirements(text).merged_over(earlier)
    prompt = load_prompt("dr_advisor.extract")
    ctx.prompt_used(prompt.name, prompt.version)
    outcome = structured_step(
        ctx,
        name="requirements",
        description=prompt.description,
        schema=EXTRACT_SCHEMA,
        system=[{"text": prompt.render(history="\n".join(history) or "(nothing)")}],
        messages=[{"role": "user", "content": [{"text": state["question"]}]}],
        fallback=lambda: {},
    )
    # The model proposes, code decides: the parser's reading of the text wins; the model may
    # only fill gaps with values the question actually contains.
    merged = parsed.merged_over(_grounded(outcome.value, state["question"])).merged_over(earlier)
    return {"requirements": merged.to_json(), "extracted_by": outcome.source}


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
    return {"turns": [{"question": state["question"], "answer": state.get("answer", "")}]}


def needs_targets(state: DRState) -> str:
    missing = [k for k in ("rto_minutes", "rpo_minutes") if k not in state.get("requirements", {})]
    return "ask" if missing else "advise"


def ask(state: DRState, config: RunnableConfig) -> DRState:
    return {
        "answer": render_question_for_targets(state.get("requirements", {})),
        "answer_source": "question",
    }


def advise(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    request = _advisor_request(state["requirements"])
    try:
        advice = _call_tool(ctx, "dr_advisor", request)
    except ToolError as error:
        return {
            "answer": f"I could not evaluate these requirements: {error}",
            "answer_source": "refusal",
            "refusal": str(error),
        }
    runbooks = _call_tool(ctx, "failover_runbook", _runbook_request(advice, request))
    return {"advice": advice, "runbooks": runbooks}


def _call_tool(ctx: RunContext, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    assert ctx.tools is not None
    result = ctx.tools.call(name, payload)
    ctx.record_tool_call(result.name, result.version, payload, result.output)
    return result.output


def _advisor_request(requirements: dict[str, Any]) -> dict[str, Any]:
    request = {key: value for key, value in requirements.items() if key != "candidate_regions"}
    request.setdefault("workload", "workload")
    request.setdefault("tier", 1)
    request.setdefault("budget_sensitivity", "medium")
    request.setdefault("primary_region", "us-east-1")
    request.setdefault("residency", [])
    request.setdefault("data_stores", [])
    request.setdefault("compute", [])
    if requirements.get("candidate_regions"):
        request["candidate_regions"] = requirements["candidate_regions"]
    return request


def _runbook_request(advice: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    targets = advice.get("target_regions") or []
    query: dict[str, Any] = {
        "runbook_ids": advice.get("runbooks", []),
        "strategy": advice["strategy"],
    }
    if targets:
        query["regions"] = {"source": request["primary_region"], "target": targets[0]}
    return query


def compose(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    results = {"dr_advisor": state["advice"], "failover_runbook": state["runbooks"]}
    prompt = load_prompt("dr_advisor.compose")
    ctx.prompt_used(prompt.name, prompt.version)
    outcome = text_step(
        ctx,
        system=[
            {"text": prompt.render(tool_results=json.dumps(results, indent=1, sort_keys=True))}
        ],
        messages=[{"role": "user", "content": [{"text": state["question"]}]}],
        fallback=lambda: render_answer(state["advice"], state["runbooks"], state["requirements"]),
        on_text=ctx.on_text,
    )
    source = "model" if outcome.source == "model" else "template"
    return {"answer": outcome.value, "answer_source": source}


def guard_output(state: DRState, config: RunnableConfig) -> DRState:
    ctx = run_context(config)
    tool_results = [state.get("advice", {}), state.get("runbooks", {})]
    verdict = OutputGuard().check(state["answer"], tool_results)
    for reason in verdict.reasons:
        ctx.guardrail_event("output", "replaced" if verdict.replace else "redacted", reason)
    if verdict.replace and state.get("advice"):
        answer = render_answer(state["advice"], state["runbooks"], state["requirements"])
        return {"answer": answer, "answer_source": "template"}
    return {"answer": verdict.text}


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(DRState)
    graph.add_node("guard_input", guard_input)
    graph.add_node("extract", extract)
    graph.add_node("ask", ask)
    graph.add_node("advise", advise)
    graph.add_node("compose", compose)
    graph.add_node("guard_output", guard_output)
    graph.add_node("finish", finish)
    graph.add_edge(START, "guard_input")
    graph.add_conditional_edges(
        "guard_input", lambda s: "finish" if s.get("refusal") else "extract"
    )
    graph.add_conditional_edges("extract", needs_targets)
    graph.add_edge("ask", "finish")
    graph.add_conditional_edges("advise", lambda s: "finish" if s.get("refusal") else "compose")
    graph.add_edge("compose", "guard_output")
    graph.add_edge("guard_output", "finish")
    graph.add_edge("finish", END)
    return graph
