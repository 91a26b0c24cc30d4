"""Knowledge Base retrieval: ``bedrock-agent-runtime`` ``Retrieve`` with a relevance floor,
citations, and Regional fallback.

A Knowledge Base (``knowledge_bases.NAME`` in ``agentkit.yaml``) is kept in one or more Regions;
its ids are tried in the order given. In each Region the call runs behind a breaker of its own
(``kb:NAME@REGION``; with ``resilience.state.backend: redis`` it is kept on Redis with the model
routes' breakers, so one worker's outage is the fleet's) and retries retryable errors
(throttling, 5xx) with the gateway's retry policy, inside a deadline and a retry budget; a
Region that is down, still throttling after its retries, unreachable, or missing the Knowledge
Base hands over to the next one. Errors are translated by :mod:`agentkit.bedrock.errors` like
any Bedrock call's.

What comes back is filtered, never trusted: a result under ``min_score``, without a score or
without a location to cite is dropped, and the text of every result kept is redacted (secrets
and PII in a document never reach an answer). With nothing left the :class:`Retrieval` says so
(``relevant`` is False and :attr:`Retrieval.message` says the knowledge base has nothing
relevant), so the caller can say that instead of answering ungrounded. Each passage carries its
citation: the location URI and the score.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from agentkit.bedrock.clients import credentials_for, is_loopback, service_client
from agentkit.bedrock.errors import bedrock_errors
from agentkit.config import AgentkitConfig, KnowledgeBaseConfig, Timeouts, optional_module
from agentkit.errors import (
    Action,
    AllRoutesFailed,
    CircuitOpen,
    ConfigError,
    ModelError,
)
from agentkit.guardrails.pii import redact
from agentkit.residency import allowed_regions
from agentkit.resilience.breaker import (
    BreakerPolicy,
    BreakerStore,
    MemoryBreakerStore,
    RouteBreaker,
)
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock
from agentkit.resilience.retry import RetryBudget, RetryPolicy, retrying
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc

# Where a result came from, by location type: the member and the key that holds its address.
_LOCATIONS: dict[str, tuple[str, str]] = {
    "S3": ("s3Location", "uri"),
    "WEB": ("webLocation", "url"),
    "CONFLUENCE": ("confluenceLocation", "url"),
    "SALESFORCE": ("salesforceLocation", "url"),
    "SHAREPOINT": ("sharePointLocation", "url"),
    "ONEDRIVE": ("oneDriveLocation", "url"),
    "GOOGLEDRIVE": ("googleDriveLocation", "url"),
    "KENDRA": ("kendraDocumentLocation", "uri"),
    "CUSTOM": ("customDocumentLocation", "id"),
    "SQL": ("sqlLocation", "query"),
}
SOURCE_URI_KEY = "x-amz-bedrock-kb-source-uri"  # the metadata key Bedrock fills for every chunk
MAX_QUERY_CHARS = 1000  # what agentkit sends; the service takes up to 20,000


# --- clients -----------------------------------------------------------------------------------


def agent_runtime_client(region: str, endpoint: str | None = None, **options: Any) -> Any:
    """A ``bedrock-agent-runtime`` client, built as agentkit builds every Bedrock client
    (:func:`agentkit.bedrock.clients.service_client`)."""
    return service_client("bedrock-agent-runtime", region, endpoint, **options)


class KnowledgeClients:
    """One cached ``bedrock-agent-runtime`` client per (Region, endpoint)."""

    def __init__(self, timeouts: Timeouts, session: Any = None) -> None:
        self._timeouts = timeouts
        self._session = session
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def client(self, region: str, endpoint: str | None) -> Any:
        key = (region, endpoint)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._create(region, endpoint)
            return client

    def _create(self, region: str, endpoint: str | None) -> Any:
        return agent_runtime_client(
            region,
            endpoint,
            session=self._session,
            credentials=credentials_for(endpoint, self._session),
            connect_timeout=self._timeouts.connect_s,
            read_timeout=self._timeouts.read_s,
        )

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    uri: str
    score: float
    location_type: str
    region: str
    knowledge_base_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "score": self.score,
            "location_type": self.location_type,
            "region": self.region,
            "knowledge_base_id": self.knowledge_base_id,
        }


@dataclass(frozen=True)
class Passage:
    id: str  # "S1", "S2" ...: how an answer cites it
    text: str
    citation: Citation


@dataclass(frozen=True)
class RetrievalAttempt:
    """One Retrieve call, or a Region skipped (``outcome`` "skipped"): the shape
    :class:`AllRoutesFailed` describes."""

    region: str
    model: str  # the Knowledge Base id (AllRoutesFailed names it as it names a model)
    outcome: str  # ok | error | skipped
    error_code: str | None = None
    latency_s: float = 0.0


@dataclass(frozen=True)
class Retrieval:
    """What a Knowledge Base returned that is relevant enough to use, with its citations."""

    knowledge_base: str
    passages: tuple[Passage, ...]
    min_score: float
    dropped: int  # results under the floor, without a score, or without a location
    best_dropped_score: float | None
    region: str
    knowledge_base_id: str
    primary_region: str
    attempts: tuple[RetrievalAttempt, ...] = field(default=(), compare=False)

    @property
    def relevant(self) -> bool:
        return bool(self.passages)

    @property
    def fell_back(self) -> bool:
        return self.region != self.primary_region

    @property
    def message(self) -> str:
        if self.passages:
            return (
                f"{len(self.passages)} result(s) from knowledge base {self.knowledge_base!r} "
                f"with relevance score {self.min_score:g} or more."
            )
        best = (
            f" (best score {self.best_dropped_score:g})"
            if self.best_dropped_score is not None
            else ""
        )
        return (
            f"The knowledge base {self.knowledge_base!r} has nothing relevant to this question: "
            f"no result reached the minimum relevance score {self.min_score:g}{best}."
        )

    def to_json(self) -> dict[str, Any]:
        """The ``knowledge_search`` tool response (tools/knowledge_search)."""
        return {
            "knowledge_base": self.knowledge_base,
            "status": "ok" if self.passages else "nothing_relevant",
            "message": self.message,
            "results": [
                {"id": p.id, "text": p.text, "citation": p.citation.to_json()}
                for p in self.passages
            ],
            "min_score": self.min_score,
            "dropped_below_floor": self.dropped,
            "served_by": {
                "region": self.region,
                "knowledge_base_id": self.knowledge_base_id,
                "fell_back": self.fell_back,
            },
        }


class KnowledgeUnavailable(AllRoutesFailed):
    """Every Region of a Knowledge Base failed (or was skipped by its open breaker)."""


def cited_location(result: Mapping[str, Any]) -> tuple[str, str] | None:
    """(location type, URI) of a ``retrievalResults`` item, or None when it has neither a
    location nor a source URI in its metadata."""
    location = result.get("location")
    if isinstance(location, Mapping):
        kind = str(location.get("type", ""))
        member, key = _LOCATIONS.get(kind, ("", ""))
        value = location.get(member)
        address = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(address, str) and address:
            return kind, address
    metadata = result.get("metadata")
    uri = metadata.get(SOURCE_URI_KEY) if isinstance(metadata, Mapping) else None
    if isinstance(uri, str) and uri:
        return "METADATA", uri
    return None


def filter_results(
    results: Any, min_score: float, region: str, kb_id: str
) -> tuple[list[Passage], int, float | None]:
    """Passages at or above ``min_score`` (in the service's order), how many were dropped, and
    the best score among those dropped."""
    passages: list[Passage] = []
    dropped = 0
    best: float | None = None
    for item in results if isinstance(results, list) else []:
        if not isinstance(item, Mapping):
            dropped += 1
            continue
        score = item.get("score")
        content = item.get("content")
        text = content.get("text") if isinstance(content, Mapping) else None
        where = cited_location(item)
        usable = isinstance(score, int | float) and not isinstance(score, bool)
        if not usable or not isinstance(text, str) or not text.strip() or where is None:
            dropped += 1
            continue
        assert isinstance(score, int | float)
        if score < min_score:
            dropped += 1
            best = score if best is None else max(best, score)
            continue
        citation = Citation(where[1], float(score), where[0], region, kb_id)
        passages.append(Passage(f"S{len(passages) + 1}", redact(text).text, citation))
    return passages, dropped, best


# --- the retriever -----------------------------------------------------------------------------


class KnowledgeRetriever:
    """Retrieve from the configured Knowledge Bases, Region by Region."""

    def __init__(
        self,
        bases: Mapping[str, KnowledgeBaseConfig],
        *,
        clients: KnowledgeClients,
        model_endpoints: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        deadline_s: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        tracer_provider: TracerProvider | None = None,
        breaker_store: BreakerStore | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if not bases:
            raise ConfigError(
                "no knowledge_bases in agentkit.yaml: add one (docs/knowledge.md) to search it"
            )
        self.bases = dict(bases)
        self.clients = clients
        self.retry_policy = retry or RetryPolicy()
        self.retry_budget = retry_budget or RetryBudget(ratio=0.2)
        self.deadline_s = deadline_s
        self.clock = clock
        self._rng = rng or random.Random()
        self._tracer = providers.get_tracer("agentkit.knowledge", tracer_provider)
        self._calls = providers.get_meter("agentkit.knowledge", meter_provider).create_counter(
            sc.METRIC_KB_RETRIEVALS,
            unit="{call}",
            description="Retrieve calls to a Knowledge Base, per Region, by outcome",
        )
        loopback = {r: u for r, u in (model_endpoints or {}).items() if is_loopback(u)}
        self._endpoints = {name: {**loopback, **b.endpoints} for name, b in self.bases.items()}
        self.on_close: list[Callable[[], None]] = []  # what close() releases (a Redis link)
        store = breaker_store or MemoryBreakerStore(clock)
        policy = breaker or BreakerPolicy()
        self.breakers = {
            (name, region): RouteBreaker(f"kb:{name}@{region}", policy, clock, store)
            for name, base in self.bases.items()
            for region in base.regions
        }

    @classmethod
    def from_config(cls, config: AgentkitConfig, **overrides: Any) -> KnowledgeRetriever:
        """The retriever ``agentkit.yaml`` describes: its Regions are held to the residency
        of the model routes (a query is data sent to that Region)."""
        allowed = allowed_regions(config.models.residency)
        for name, base in config.knowledge_bases.items():
            for region in base.regions:
                if region not in allowed:
                    raise ConfigError(
                        f"knowledge_bases.{name}.regions.{region}: outside the residency "
                        f"{config.models.residency!r}; remove it or widen models.residency"
                    )
        resilience = config.resilience
        options: dict[str, Any] = {
            "clients": KnowledgeClients(resilience.timeouts),
            "model_endpoints": config.models.endpoints,
            "retry": RetryPolicy.from_config(resilience.retry),
            "breaker": BreakerPolicy(**resilience.breaker.model_dump()),
            "retry_budget": RetryBudget(ratio=resilience.retry.budget_ratio),
            "deadline_s": config.limits.deadline_s,
        }
        options.update(overrides)
        link = None
        if resilience.state.backend == "redis" and "breaker_store" not in overrides:
            # The fleet's breakers (docs/scaleout.md): the model routes' shared storage.
            shared_state = optional_module("agentkit.resilience.redis_state", "resilience.state")
            shared = shared_state.RedisState.from_config(
                resilience.state, clock=overrides.get("clock")
            )
            options["breaker_store"], link = shared.breaker_store, shared.link
        retriever = cls(config.knowledge_bases, **options)
        if link is not None:
            retriever.on_close.append(link.close)
        return retriever

    def names(self) -> list[str]:
        return list(self.bases)

    def close(self) -> None:
        self.clients.close()
        for release in self.on_close:
            release()

    # --- retrieval -----------------------------------------------------------------------------

    def retrieve(
        self, query: str, *, knowledge_base: str | None = None, max_results: int | None = None
    ) -> Retrieval:
        """The passages of ``knowledge_base`` (default: the first configured) relevant to
        ``query``; :class:`KnowledgeUnavailable` when no Region answers."""
        name = self._name(knowledge_base)
        base = self.bases[name]
        count = min(max_results or base.max_results, base.max_results)
        request_config = {"vectorSearchConfiguration": {"numberOfResults": count}}
        with self._tracer.start_as_current_span(f"retrieve {name}", kind=SpanKind.CLIENT) as span:
            span.set_attribute(sc.PROVIDER_NAME, sc.PROVIDER_BEDROCK)
            span.set_attribute(sc.KNOWLEDGE_BASE, name)
            try:
                retrieval = self._through_regions(name, base, query, request_config)
            except Exception as error:
                span.set_attribute(sc.ERROR_TYPE, type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise
            span.set_attribute(sc.CLOUD_REGION, retrieval.region)
            span.set_attribute(sc.KNOWLEDGE_BASE_ID, retrieval.knowledge_base_id)
            span.set_attribute(sc.RETRIEVAL_KEPT, len(retrieval.passages))
            span.set_attribute(sc.RETRIEVAL_DROPPED, retrieval.dropped)
            return retrieval

    def _name(self, knowledge_base: str | None) -> str:
        if knowledge_base is None:
            return next(iter(self.bases))
        if knowledge_base not in self.bases:
            known = ", ".join(self.bases)
            raise ConfigError(
                f"no knowledge base {knowledge_base!r} in agentkit.yaml; configured: {known}"
            )
        return knowledge_base

    def _through_regions(
        self, name: str, base: KnowledgeBaseConfig, query: str, request_config: dict[str, Any]
    ) -> Retrieval:
        self.retry_budget.on_call()
        deadline = self.clock.now() + self.deadline_s
        attempts: list[RetrievalAttempt] = []
        last_error: BaseException | None = None
        primary = next(iter(base.regions))
        for region, kb_id in base.regions.items():
            request = {
                "knowledgeBaseId": kb_id,
                "retrievalQuery": {"text": query[:MAX_QUERY_CHARS]},
                "retrievalConfiguration": request_config,
            }
            try:
                raw = self._on_region(name, region, kb_id, request, deadline, attempts)
            except CircuitOpen as error:
                attempts.append(RetrievalAttempt(region, kb_id, "skipped", "CircuitOpen"))
                last_error = last_error or error
                continue
            except ModelError as error:
                if error.action is Action.STOP:
                    raise
                last_error = error
                continue
            passages, dropped, best = filter_results(
                raw.get("retrievalResults"), base.min_score, region, kb_id
            )
            return Retrieval(
                name,
                tuple(passages),
                base.min_score,
                dropped,
                best,
                region,
                kb_id,
                primary,
                tuple(attempts),
            )
        raise KnowledgeUnavailable(attempts, _unavailable(name, attempts)) from last_error

    def _on_region(
        self,
        name: str,
        region: str,
        kb_id: str,
        request: dict[str, Any],
        deadline: float,
        attempts: list[RetrievalAttempt],
    ) -> dict[str, Any]:
        breaker = self.breakers[(name, region)]
        client = self.clients.client(region, self._endpoints[name].get(region))
        policy_retry = retrying(
            self.retry_policy,
            clock=self.clock,
            deadline=deadline,
            budget=self.retry_budget,
            rng=self._rng,
        )
        for attempt in policy_retry:
            with attempt:
                return self._attempt(breaker, client, region, kb_id, request, attempts)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _attempt(
        self,
        breaker: RouteBreaker,
        client: Any,
        region: str,
        kb_id: str,
        request: dict[str, Any],
        attempts: list[RetrievalAttempt],
    ) -> dict[str, Any]:
        breaker.admit()
        started = time.perf_counter()
        try:
            with bedrock_errors(kb_id, region):
                raw: dict[str, Any] = client.retrieve(**request)
        except ModelError as error:
            breaker.record_failure(error)
            elapsed = time.perf_counter() - started
            attempts.append(RetrievalAttempt(region, kb_id, "error", error.code, elapsed))
            self._count(attempts[-1])
            raise
        except BaseException:
            breaker.release()
            raise
        elapsed = time.perf_counter() - started
        breaker.record_success(elapsed)
        attempts.append(RetrievalAttempt(region, kb_id, "ok", None, elapsed))
        self._count(attempts[-1])
        return raw

    def _count(self, attempt: RetrievalAttempt) -> None:
        """``agentkit.knowledge.retrievals``: one Retrieve call, its Region and outcome."""
        attributes = {
            sc.KNOWLEDGE_BASE_ID: attempt.model,
            sc.CLOUD_REGION: attempt.region,
            sc.OUTCOME: attempt.outcome,
        }
        if attempt.error_code:
            attributes[sc.ERROR_TYPE] = attempt.error_code
        self._calls.add(1, attributes)

    # --- the knowledge_search tool ---------------------------------------------------------------

    def check_search_request(self, payload: dict[str, Any]) -> list[str]:
        """The ``knowledge_search`` request's semantic check: a name that is configured."""
        name = payload.get("knowledge_base")
        if name is None or name in self.bases:
            return []
        return [f"knowledge_base {name!r} is not configured; use one of: {', '.join(self.bases)}"]

    def search(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The ``knowledge_search`` tool handler: request and response as in tools/."""
        retrieval = self.retrieve(
            str(payload["query"]),
            knowledge_base=payload.get("knowledge_base"),
            max_results=payload.get("max_results"),
        )
        return retrieval.to_json()


def _unavailable(name: str, attempts: list[RetrievalAttempt]) -> str:
    listed = "; ".join(f"{a.region} {a.model}: {a.outcome} ({a.error_code})" for a in attempts)
    return f"knowledge base {name!r} unavailable in every Region: {listed or 'no Region tried'}"


def check_search_response(payload: dict[str, Any]) -> list[str]:
    """What the JSON Schema cannot say about a ``knowledge_search`` response: the status
    agrees with the results, and nothing under the floor got through."""
    results = payload.get("results", [])
    problems: list[str] = []
    if (payload.get("status") == "ok") != bool(results):
        problems.append("status must be ok exactly when there are results")
    floor = payload.get("min_score", 0)
    problems += [
        f"results[{i}] scored {r['citation']['score']} under the floor {floor}"
        for i, r in enumerate(results)
        if r["citation"]["score"] < floor
    ]
    return problems
