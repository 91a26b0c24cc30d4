"""``docs_search``: a local, deterministic search with ``knowledge_search``'s contract.

It is ``knowledge_search``'s fallback (``fallback: docs_search`` in its manifest): when every
Region of a Knowledge Base fails, the registry sends the same request here, and the answer has
the same response schema, so a caller (and the grounding guard) reads it the same way.

Ranking is BM25 (k1 = 1.2, b = 0.75) over the documents' words, and the score is normalised to
0..1 by the query's own ceiling: the sum over its distinct terms of ``idf * (k1 + 1)``, the most
a document can score as a term's frequency grows. A document scores 1 only when it matches every
word of the query very often; one that matches none scores 0. The scale is not Bedrock's (a
vector similarity), but it is on the same 0..1 range and the same relevance floor applies: the
Knowledge Base's ``min_score`` (default 0.5) drops what is under it, and with nothing left the
status is ``nothing_relevant``. Ties are broken by URI, so the same query always gets the same
answer. Passages are redacted as retrieved passages are.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.config import KnowledgeBaseConfig
from agentkit.guardrails.pii import redact

K1 = 1.2
B = 0.75
LOCATION_TYPE = "LOCAL"  # a citation's location type: a packaged document
REGION = "local"  # what ``served_by.region`` says: no AWS Region was called
INDEX_ID = "docs_search"  # ``knowledge_base_id`` of every citation and of ``served_by``
# A Knowledge Base's defaults (knowledge_bases.NAME.min_score and max_results), read from the model.
DEFAULT_MIN_SCORE: float = KnowledgeBaseConfig.model_fields["min_score"].default
DEFAULT_MAX_RESULTS: int = KnowledgeBaseConfig.model_fields["max_results"].default
DEFAULT_NAME = "docs"  # ``knowledge_base`` in the answer when the request names none
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def terms(text: str) -> list[str]:
    """The words of ``text`` that count: lowercase letters and digits, stop words left out
    (``warm_standby`` is two words, ``us-east-1`` three)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


@dataclass(frozen=True)
class Document:
    uri: str  # where the passage comes from: what a citation points at
    text: str


class LexicalIndex:
    """BM25 over a fixed set of documents, with scores normalised to 0..1."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = tuple(documents)
        self._counts = [Counter(terms(d.text)) for d in self.documents]
        self._lengths = [sum(c.values()) for c in self._counts]
        self._average = sum(self._lengths) / len(self._lengths) if self._lengths else 0.0
        self._df: Counter[str] = Counter()
        for counts in self._counts:
            self._df.update(counts.keys())

    def idf(self, term: str) -> float:
        n, df = len(self.documents), self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def ranked(self, query: str) -> list[tuple[float, Document]]:
        """Every document with a score above 0, best first (ties by URI)."""
        words = sorted(set(terms(query)))
        ceiling = sum(self.idf(w) for w in words)
        if not ceiling:
            return []
        scored = []
        for document, counts, length in zip(
            self.documents, self._counts, self._lengths, strict=True
        ):
            norm = K1 * (1 - B + B * length / self._average) if self._average else K1
            raw = sum(
                self.idf(w) * counts[w] * (K1 + 1) / (counts[w] + norm) for w in words if counts[w]
            )
            if raw > 0:
                scored.append((min(1.0, raw / ceiling), document))
        return sorted(scored, key=lambda pair: (-pair[0], pair[1].uri))


@dataclass(frozen=True)
class Floor:
    """The relevance floor and result cap of the Knowledge Base docs_search stands in for."""

    min_score: float = DEFAULT_MIN_SCORE
    max_results: int = DEFAULT_MAX_RESULTS


class DocsSearch:
    """The ``docs_search`` handler over the documents ``corpus`` returns (read on first use),
    with each configured Knowledge Base's floor (``floors``, by name)."""

    def __init__(
        self, corpus: Callable[[], Sequence[Document]], floors: Mapping[str, Floor] | None = None
    ) -> None:
        self._corpus = corpus
        self._floors = dict(floors or {})

    @functools.cached_property
    def index(self) -> LexicalIndex:
        """Built on first use (two threads may both build it: the same index either way)."""
        return LexicalIndex(self._corpus())

    def floor(self, name: str | None) -> Floor:
        """The floor of the named Knowledge Base, else of the first configured, else the
        defaults."""
        if name is not None and name in self._floors:
            return self._floors[name]
        return next(iter(self._floors.values()), Floor())

    def search(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A ``knowledge_search`` response for the request (tools/docs_search)."""
        name = payload.get("knowledge_base")
        floor = self.floor(name)
        limit = min(int(payload.get("max_results") or floor.max_results), floor.max_results)
        ranked = self.index.ranked(str(payload["query"]))
        kept = [(s, d) for s, d in ranked if s >= floor.min_score][:limit]
        results = [
            {
                "id": f"S{i}",
                "text": redact(document.text).text,
                "citation": {
                    "uri": document.uri,
                    "score": round(score, 4),
                    "location_type": LOCATION_TYPE,
                    "region": REGION,
                    "knowledge_base_id": INDEX_ID,
                },
            }
            for i, (score, document) in enumerate(kept, start=1)
        ]
        return {
            "knowledge_base": name or next(iter(self._floors), DEFAULT_NAME),
            "status": "ok" if results else "nothing_relevant",
            "message": _message(len(results), floor.min_score),
            "results": results,
            "min_score": floor.min_score,
            "dropped_below_floor": sum(1 for s, _ in ranked if s < floor.min_score),
            "served_by": {"region": REGION, "knowledge_base_id": INDEX_ID, "fell_back": True},
        }


def _message(found: int, min_score: float) -> str:
    if found:
        return (
            f"{found} result(s) from the local documentation (docs_search) with relevance "
            f"score {min_score:g} or more."
        )
    return (
        "The local documentation has nothing relevant to this question: no document reached "
        f"the minimum relevance score {min_score:g}."
    )
