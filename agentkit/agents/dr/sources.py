"""Documentation sources for the DR advisor's explanation.

When a Knowledge Base is configured for it (``knowledge_bases.NAME.dr_advisor: true``), the
advisor searches it through the ``knowledge_search`` tool *after* the deterministic decision:
the query is built from the advice, and nothing retrieved flows back into it. What is found is
shown under the answer as numbered sources (``[S1]``, with location URI and score), passed to the
model with the other tool results, and checked by the grounding guard (a citation that names no
retrieved passage is an unsupported claim). When nothing reaches the Knowledge Base's relevance
floor, or it cannot be searched, the answer says so: the advice then rests on the advisor's own
data tables alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from agentkit.errors import ToolError
from agentkit.graph import run_context

if TYPE_CHECKING:
    from agentkit.agents.dr.workflow import DRState
    from agentkit.config import AgentkitConfig

MAX_EXCERPT = 240  # characters of a passage quoted under the answer
_SENTENCE = re.compile(r"(?<=[.!?])\s")


def documentation_knowledge_base(config: AgentkitConfig) -> str | None:
    """The name of the Knowledge Base the DR advisor grounds its explanations in, if any."""
    return next((name for name, kb in config.knowledge_bases.items() if kb.dr_advisor), None)


def documentation_query(advice: dict[str, Any]) -> str:
    """What to look up: the strategy and the mechanisms the advice relies on."""
    strategy = str(advice.get("strategy", "")).replace("_", " ")
    services = [
        str(store["service"])
        for store in advice.get("data_stores") or []
        if isinstance(store, dict) and store.get("service")
    ]
    parts = [f"{strategy} disaster recovery", *services, "failover"]
    return " ".join(dict.fromkeys(parts))[:1000]


@dataclass(frozen=True)
class FindSources:
    """The graph node: search the documentation Knowledge Base for the advice just made."""

    knowledge_base: str

    def __call__(self, state: DRState, config: RunnableConfig) -> DRState:
        if not state.get("advice"):
            return {"sources": None}
        ctx = run_context(config)
        payload = {
            "query": documentation_query(state["advice"]),
            "knowledge_base": self.knowledge_base,
        }
        try:
            assert ctx.tools is not None
            result = ctx.tools.call("knowledge_search", payload)
        except ToolError as error:
            return {
                "sources": {
                    "knowledge_base": self.knowledge_base,
                    "status": "unavailable",
                    "message": f"the knowledge base could not be searched: {error}",
                    "results": [],
                }
            }
        ctx.record_tool_call(result.name, result.version, payload, result.output)
        return {"sources": result.output}


def render_sources(sources: dict[str, Any] | None) -> str:
    """The sources block shown under the answer ("" when no Knowledge Base is configured)."""
    if not sources:
        return ""
    name = sources.get("knowledge_base", "")
    results = sources.get("results") or []
    if sources.get("status") == "ok" and results:
        lines = [f"Sources (knowledge base {name!r}):"]
        lines += [
            f"- [{r['id']}] {_excerpt(r['text'])} ({r['citation']['uri']}, "
            f"relevance {r['citation']['score']:.2f})"
            for r in results
        ]
        return "\n".join(lines)
    if sources.get("status") == "nothing_relevant":
        return (
            f"Sources: the knowledge base {name!r} has nothing relevant to this advice; it rests "
            "on the advisor's own data tables."
        )
    return (
        f"Sources: {sources.get('message', 'the knowledge base could not be searched')}; the "
        "advice rests on the advisor's own data tables."
    )


def _excerpt(text: str) -> str:
    first = _SENTENCE.split(" ".join(text.split()), maxsplit=1)[0]
    return first if len(first) <= MAX_EXCERPT else first[: MAX_EXCERPT - 3].rstrip() + "..."
