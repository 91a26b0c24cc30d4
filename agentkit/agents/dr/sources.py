"""Documentation sources for the DR advisor's explanation.

When a Knowledge Base is configured for it (``knowledge_bases.NAME.dr_advisor: true``), the
advisor searches it through the ``knowledge_search`` tool *after* the deterministic decision:
the query is built from the advice, and nothing retrieved flows back into it. What is found is
shown under the answer as numbered sources (``[S1]``, with location URI and score), passed to the
model with the other tool results, and checked by the grounding guard (a citation that names no
retrieved passage is an unsupported claim). When every Region of the Knowledge Base fails, the
tool registry answers from ``docs_search`` instead (``knowledge_search``'s contract fallback): a
lexical search over the packaged runbooks and the advisor's data tables
(:func:`documentation_corpus`), under the same relevance floor, whose citations point at those
local documents. When nothing reaches the floor, or nothing can be searched, the answer says so:
the advice then rests on the advisor's own data tables alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from agentkit.errors import ToolError
from agentkit.graph import run_context
from agentkit.paths import data_dir
from agentkit.tools.docs_search import INDEX_ID, Document

if TYPE_CHECKING:
    from agentkit.agents.dr.workflow import DRState
    from agentkit.config import AgentkitConfig

MAX_EXCERPT = 240  # characters of a passage quoted under the answer
SERVICES_TABLE = Path(__file__).resolve().parent / "data" / "services-v1.json"
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
    local = (sources.get("served_by") or {}).get("knowledge_base_id") == INDEX_ID
    if local and not (sources.get("status") == "ok" and results):
        return (
            f"Sources: the knowledge base {name!r} could not be searched and the packaged "
            "documentation has nothing relevant to this advice; it rests on the advisor's own "
            "data tables."
        )
    if sources.get("status") == "ok" and results:
        where = (
            f"packaged documentation; the knowledge base {name!r} could not be searched"
            if local
            else f"knowledge base {name!r}"
        )
        lines = [f"Sources ({where}):"]
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


# --- the packaged documentation docs_search falls back to ---------------------------------------


def documentation_corpus() -> list[Document]:
    """The documents ``docs_search`` searches: each packaged failover runbook (its title, what
    it is for, and the descriptions of its triggers, checks and steps) and each agent store of
    the advisor's data table (its DR mechanism and RPO basis), cited by their packaged paths."""
    return [*_runbook_documents(data_dir("runbooks")), *_store_documents(SERVICES_TABLE)]


def _runbook_documents(root: Path) -> list[Document]:
    import yaml

    documents = []
    for path in sorted(root.glob("*.yaml")):
        runbook = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(runbook, dict) or runbook.get("kind") != "Runbook":
            continue
        meta, spec = runbook.get("metadata") or {}, runbook.get("spec") or {}
        about = (
            f"{meta.get('title', path.stem)}. Runbook {meta.get('id', path.stem)} "
            f"{meta.get('version', '')} for {str(spec.get('scenario', '')).replace('_', ' ')}: "
            f"strategies {', '.join(spec.get('strategies') or [])}; "
            f"services {', '.join(spec.get('services') or [])}."
        )
        details = [d.replace("_", " ") for d in _descriptions(spec)]
        documents.append(Document(f"runbooks/{path.name}", " ".join([about, *details])))
    return documents


def _descriptions(value: Any) -> list[str]:
    """Every ``description`` (and step ``name``) string in a runbook's spec, in order."""
    if isinstance(value, list):
        return [text for item in value for text in _descriptions(item)]
    if not isinstance(value, dict):
        return []
    found = [str(value[k]) for k in ("name", "description") if isinstance(value.get(k), str)]
    return found + [text for item in value.values() for text in _descriptions(item)]


def _store_documents(table: Path) -> list[Document]:
    stores = json.loads(table.read_text(encoding="utf-8")).get("agent_stores") or {}
    relative = "agentkit/agents/dr/data/" + table.name
    return [
        Document(
            f"{relative}#agent_stores/{key}",
            f"{entry.get('label', key)}: {entry.get('service', '')}. "
            f"{entry.get('cross_region_finding') or ''}. RPO: {entry.get('rpo_basis') or ''}.",
        )
        for key, entry in stores.items()
        if isinstance(entry, dict)
    ]
