"""Knowledge Bases for the emulator: a small document corpus per Region, and ``Retrieve``.

Knowledge Bases are regional resources, as on Bedrock: each Region has its own, and an unknown
id is a ResourceNotFoundException. Scoring is deterministic token overlap, not embeddings, so a
test can predict every score:

    score = |distinct query terms found in the document| / |distinct query terms|

where terms are lower-cased runs of letters and digits, minus a short list of stop words
(``STOP_WORDS``), with a plural ``s`` dropped (see :func:`terms`); rounded to four decimals.
Results are ordered by score, then by their order in the corpus; like a vector search,
``Retrieve`` returns the top ``numberOfResults`` (default 5) whatever their score, so a
relevance floor is the caller's job.

Fault plans add, per Knowledge Base id or glob (``regions.R.knowledge_bases``), ``stale: true``
(serve each document's ``stale`` version, as if the last sync were old) and ``score_scale``
(multiply every score: low-score results), on top of the usual errors, latency and black hole.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from agentkit.emulator.wire_errors import BedrockError

KB_ID = re.compile(r"^[0-9a-zA-Z]{10}$")
KB_ARN = re.compile(
    r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:knowledge-base/([0-9a-zA-Z]{10})$"
)
DEFAULT_RESULTS = 5  # Retrieve's numberOfResults when the request sets none
MAX_RESULTS = 100
MAX_QUERY_CHARS = 20_000
MAX_DOCUMENTS = 10_000  # per Knowledge Base
MAX_TEXT_CHARS = 100_000  # per document
STOP_WORDS = frozenset(
    (  # noqa: SIM905 (one string reads better than 38 lines of words)
        "a an and are as at be by can do does for from how i in is it of on or our should that "
        "the this to was we what when which who why will with you your"
    ).split()
)
_TERM = re.compile(r"[a-z0-9]+")
_CHUNK_NAMESPACE = uuid.UUID("6f1c7f4e-4b1e-4f55-9a55-0a9e6b1d0c42")

Metadata = dict[str, str | int | float | bool | list[str]]


class _Corpus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DocumentVersion(_Corpus):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata = Field(default_factory=dict, max_length=64)


class KnowledgeDocument(DocumentVersion):
    """One chunk of a data source: its text, where it came from, and optional metadata."""

    id: str = Field(min_length=1, max_length=256, pattern=r"^\S+$")
    uri: str = Field(min_length=1, max_length=2048)  # s3://..., https://..., or any other id
    stale: DocumentVersion | None = None  # served instead under the ``stale`` fault


class KnowledgeCatalog(RootModel[dict[str, dict[str, tuple[KnowledgeDocument, ...]]]]):
    """Documents per Region and Knowledge Base id: ``{us-east-1: {KBDOCS0001: [{id, uri,
    text}, ...]}}``."""

    @field_validator("root")
    @classmethod
    def _ids(
        cls, root: dict[str, dict[str, tuple[KnowledgeDocument, ...]]]
    ) -> dict[str, dict[str, tuple[KnowledgeDocument, ...]]]:
        for region, bases in root.items():
            for kb_id, documents in bases.items():
                if not KB_ID.match(kb_id):
                    raise ValueError(
                        f"{region}.{kb_id}: a Knowledge Base id is 10 letters or digits, "
                        "e.g. KBDOCS0001"
                    )
                if len(documents) > MAX_DOCUMENTS:
                    raise ValueError(f"{region}.{kb_id}: more than {MAX_DOCUMENTS} documents")
                ids = [d.id for d in documents]
                if len(set(ids)) != len(ids):
                    raise ValueError(f"{region}.{kb_id}: document ids must be unique")
        return root


def terms(text: str) -> frozenset[str]:
    """The distinct scoring terms of ``text``: a term of more than three characters ending in a
    single ``s`` loses it (``replicates`` and ``replicate`` match)."""
    found = set(_TERM.findall(text.lower())) - STOP_WORDS
    return frozenset(_singular(term) for term in found)


def _singular(term: str) -> str:
    if len(term) > 3 and term.endswith("s") and not term.endswith("ss"):
        return term[:-1]
    return term


def overlap_score(query_terms: frozenset[str], text: str) -> float:
    if not query_terms:
        return 0.0
    return round(len(query_terms & terms(text)) / len(query_terms), 4)


@dataclass(frozen=True)
class RetrievalFaults:
    stale: bool = False
    score_scale: float = 1.0


NO_RETRIEVAL_FAULTS = RetrievalFaults()


def knowledge_base_id(identifier: str) -> str | None:
    """The id of ``identifier`` (an id or a Knowledge Base ARN), or None when it is neither."""
    if KB_ID.match(identifier):
        return identifier
    match = KB_ARN.match(identifier)
    return match.group(2) if match else None


class KnowledgeCorpus:
    """Which Knowledge Bases exist in which Region, and what they hold."""

    def __init__(self, catalog: KnowledgeCatalog | None = None) -> None:
        self.catalog = catalog or KnowledgeCatalog({})

    def documents(self, region: str, kb_id: str) -> tuple[KnowledgeDocument, ...] | None:
        return self.catalog.root.get(region, {}).get(kb_id)

    def retrieve(
        self,
        documents: tuple[KnowledgeDocument, ...],
        kb_id: str,
        query: str,
        count: int,
        faults: RetrievalFaults = NO_RETRIEVAL_FAULTS,
    ) -> list[dict[str, Any]]:
        """The top ``count`` results for ``query``, in the ``retrievalResults`` wire shape."""
        wanted = terms(query)
        scored: list[tuple[float, int, dict[str, Any]]] = []
        for index, document in enumerate(documents):
            version: DocumentVersion = document
            if faults.stale and document.stale is not None:
                version = document.stale
            score = round(overlap_score(wanted, version.text) * faults.score_scale, 4)
            scored.append((score, index, _result(kb_id, document, version, score)))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [result for _, _, result in scored[:count]]


def _result(
    kb_id: str, document: KnowledgeDocument, version: DocumentVersion, score: float
) -> dict[str, Any]:
    chunk = uuid.uuid5(_CHUNK_NAMESPACE, f"{kb_id}/{document.id}")
    metadata: dict[str, Any] = {
        "x-amz-bedrock-kb-source-uri": document.uri,
        "x-amz-bedrock-kb-chunk-id": str(chunk),
        "x-amz-bedrock-kb-data-source-id": "EMULATORDS",
        **version.metadata,
    }
    return {
        "content": {"type": "TEXT", "text": version.text},
        "location": location(document.uri),
        "score": score,
        "metadata": metadata,
    }


def location(uri: str) -> dict[str, Any]:
    """The ``location`` member for ``uri``: S3 for ``s3://``, WEB for http(s), else CUSTOM."""
    if uri.startswith("s3://"):
        return {"type": "S3", "s3Location": {"uri": uri}}
    if uri.startswith(("https://", "http://")):
        return {"type": "WEB", "webLocation": {"url": uri}}
    return {"type": "CUSTOM", "customDocumentLocation": {"id": uri}}


def retrieve_body(
    corpus: KnowledgeCorpus,
    region: str,
    identifier: str,
    request: dict[str, Any],
    faults: RetrievalFaults = NO_RETRIEVAL_FAULTS,
) -> dict[str, Any]:
    """The ``Retrieve`` response body, or :class:`BedrockError` as the service would answer."""
    kb_id = knowledge_base_id(identifier)
    if kb_id is None:
        raise BedrockError(
            "ValidationException",
            f"1 validation error detected: Value '{identifier[:64]}' at 'knowledgeBaseId' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "[0-9a-zA-Z]{10}",
        )
    query = _query_text(request)
    count = _number_of_results(request)
    documents = corpus.documents(region, kb_id)
    if documents is None:
        raise BedrockError(
            "ResourceNotFoundException",
            f"Knowledge base {kb_id} does not exist in {region}.",
        )
    return {"retrievalResults": corpus.retrieve(documents, kb_id, query, count, faults)}


def _query_text(request: dict[str, Any]) -> str:
    query = request.get("retrievalQuery")
    if not isinstance(query, dict):
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value null at 'retrievalQuery' failed to satisfy "
            "constraint: Member must not be null",
        )
    text = query.get("text")
    if not isinstance(text, str):
        raise BedrockError("ValidationException", "retrievalQuery.text is required.")
    if len(text) > MAX_QUERY_CHARS:
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value at 'retrievalQuery.text' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_QUERY_CHARS}",
        )
    return text


def _number_of_results(request: dict[str, Any]) -> int:
    configuration = request.get("retrievalConfiguration")
    vector = (
        configuration.get("vectorSearchConfiguration") if isinstance(configuration, dict) else None
    )
    count = (
        vector.get("numberOfResults", DEFAULT_RESULTS)
        if isinstance(vector, dict)
        else DEFAULT_RESULTS
    )
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RESULTS:
        raise BedrockError(
            "ValidationException",
            "1 validation error detected: Value at "
            "'retrievalConfiguration.vectorSearchConfiguration.numberOfResults' failed to "
            f"satisfy constraint: Member must have value between 1 and {MAX_RESULTS}",
        )
    return count
