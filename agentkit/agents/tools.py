"""agentkit's own tool implementations, by tool name (contracts live in the top-level tools/).

The applications register them with the runtime: the framework's registry names no application.
:data:`BUILTIN` needs no configuration; :data:`FROM_KNOWLEDGE` is built by
:func:`builtin_registry` from the configured Knowledge Bases. Together they are every tool
agentkit implements (what ``agentkit doctor`` checks the contracts against).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentkit.agents.dr.advisor import advise, check_request
from agentkit.errors import ToolNotConfigured
from agentkit.runbooks.tool import find_runbooks
from agentkit.tools.docs_search import DocsSearch, Floor
from agentkit.tools.registry import Implementation, Payload, ToolRegistry

if TYPE_CHECKING:
    from agentkit.bedrock.knowledge import KnowledgeRetriever


BUILTIN: dict[str, Implementation] = {
    "dr_advisor": Implementation(advise, check_request=check_request),
    "failover_runbook": Implementation(find_runbooks),
    "fmea_generate": Implementation(
        lambda payload: _fmea().generate(payload),
        check_request=lambda payload: _fmea().check_request(payload),
    ),
    "capacity_plan": Implementation(
        lambda payload: _capacity().plan(payload),
        check_request=lambda payload: _capacity().check_request(payload),
    ),
}


def _fmea() -> ModuleType:
    """Imported on first use: a command that never runs the tool does not pay for it."""
    import agentkit.fmea.tool

    return agentkit.fmea.tool


def _capacity() -> ModuleType:
    import agentkit.capacity.tool

    return agentkit.capacity.tool


def builtin_registry(
    root: Path | None = None, *, knowledge: KnowledgeRetriever | None = None, **options: Any
) -> ToolRegistry:
    """The packaged contracts (or ``root``'s) with agentkit's own implementations;
    ``knowledge_search`` searches ``knowledge``'s Knowledge Bases (without one, it says how to
    configure them)."""
    implementations = {
        **BUILTIN,
        **{name: implement(knowledge) for name, implement in FROM_KNOWLEDGE.items()},
    }
    return ToolRegistry.from_directory(root, implementations, **options)


def knowledge_search(knowledge: KnowledgeRetriever | None) -> Implementation:
    if knowledge is None:
        return Implementation(_no_knowledge_bases)
    from agentkit.bedrock.knowledge import check_search_response

    return Implementation(
        knowledge.search,
        check_request=knowledge.check_search_request,
        check_response=check_search_response,
    )


def docs_search(knowledge: KnowledgeRetriever | None = None) -> Implementation:
    """``docs_search`` over the packaged documentation, under the floor of each Knowledge Base
    it stands in for (knowledge_search's fallback)."""
    from agentkit.agents.dr.sources import documentation_corpus

    floors = {
        name: Floor(base.min_score, base.max_results)
        for name, base in (knowledge.bases.items() if knowledge is not None else ())
    }
    return Implementation(DocsSearch(documentation_corpus, floors).search)


FROM_KNOWLEDGE: dict[str, Callable[[KnowledgeRetriever | None], Implementation]] = {
    "knowledge_search": knowledge_search,
    "docs_search": docs_search,  # knowledge_search's fallback, under each base's floor
}


def _no_knowledge_bases(payload: Payload) -> Payload:
    # A missing setting, not an outage: ToolNotConfigured is not sent to docs_search, which
    # would hide it.
    raise ToolNotConfigured(
        "knowledge_search: no knowledge_bases in agentkit.yaml; add one with its Knowledge Base "
        "id per Region (docs/knowledge.md)"
    )
