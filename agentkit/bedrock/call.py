"""Per-call bookkeeping of the gateway: attempts, the span events that explain them, and the
metrics that count them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from tenacity import RetryCallState

from agentkit.bedrock.types import Attempt, ModelRequest, ModelResponse, Usage
from agentkit.config import Route
from agentkit.guardrails.pii import redact_value
from agentkit.resilience.budget import RunBudget
from agentkit.telemetry import semconv as sc

if TYPE_CHECKING:
    from agentkit.bedrock.gateway import Gateway
    from agentkit.bedrock.sizing import Sizing

# The context budget's figures (agentkit.bedrock.sizing): on the span, for the route that was
# sized last, and as an event per route sized.
INPUT_TOKENS = "agentkit.request.input_tokens"
INPUT_TOKENS_SOURCE = "agentkit.request.input_tokens.source"
CONTEXT_WINDOW = "agentkit.request.context_window"
EVENT_SIZED = "agentkit.context.sized"
EVENT_COUNT_FAILED = "agentkit.context.count_failed"  # a CountTokens call failed: the estimate
UNCOUNTED = "agentkit.context.uncounted"  # on the sized event: why CountTokens' figure is missing


class CallRecorder:
    """Thread-safe (hedged attempts run in parallel); one per gateway call."""

    def __init__(self, span: Span, request: ModelRequest, gateway: Gateway) -> None:
        self.span = span
        self.attempts: list[Attempt] = []
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._fallbacks = 0
        self._sizings: dict[str, Sizing] = {}
        self._metrics = gateway.metrics
        self._clients = gateway.clients
        self._requested = gateway.routes[0].model
        span.set_attribute(sc.OPERATION_NAME, "chat")
        span.set_attribute(sc.PROVIDER_NAME, sc.PROVIDER_BEDROCK)
        span.set_attribute(sc.REQUEST_MODEL, self._requested)
        if request.max_tokens is not None:
            span.set_attribute(sc.REQUEST_MAX_TOKENS, request.max_tokens)
        if request.temperature is not None:
            span.set_attribute(sc.REQUEST_TEMPERATURE, request.temperature)
        if gateway.capture_content:
            span.set_attribute(sc.INPUT_MESSAGES, _redacted(list(request.messages)))
        self._capture = gateway.capture_content

    def sized(self, sizing: Sizing) -> None:
        """A request sized for a route before it is sent: its input tokens and their source go
        on the span, and on that route's attempts."""
        route = sizing.route
        with self._lock:
            self._sizings[route.name] = sizing
        attributes: dict[str, AttributeValue] = {
            sc.ROUTE: route.name,
            INPUT_TOKENS: sizing.input_tokens,
            INPUT_TOKENS_SOURCE: sizing.source,
            "fits": sizing.fits,
        }
        if sizing.window is not None:
            attributes[CONTEXT_WINDOW] = sizing.window
        if sizing.uncounted is not None:
            attributes[UNCOUNTED] = sizing.uncounted
        self.span.add_event(EVENT_SIZED, attributes)
        self.span.set_attribute(INPUT_TOKENS, sizing.input_tokens)
        self.span.set_attribute(INPUT_TOKENS_SOURCE, sizing.source)

    def count_failed(self, route: Route, code: str) -> None:
        """A CountTokens call for ``route`` failed (or ran out of its share of the deadline):
        the estimate sizes the request."""
        self.span.add_event(
            EVENT_COUNT_FAILED,
            {sc.ROUTE: route.name, sc.CLOUD_REGION: route.region, sc.ERROR_TYPE: code},
        )

    def _attempt(
        self, route: Route, outcome: str, code: str | None = None, latency_s: float = 0.0
    ) -> Attempt:
        sizing = self._sizings.get(route.name)
        return Attempt(
            route.name,
            route.region,
            route.model,
            outcome,
            code,
            latency_s,
            input_tokens=sizing.input_tokens if sizing else None,
            input_tokens_source=sizing.source if sizing else None,
        )

    def attempted(self, route: Route, outcome: str, code: str | None, latency_s: float) -> None:
        attempt = self._attempt(route, outcome, code, round(latency_s, 6))
        with self._lock:
            self.attempts.append(attempt)
        attributes = {sc.ROUTE: route.name, sc.CLOUD_REGION: route.region, sc.OUTCOME: outcome}
        if code is not None:
            attributes[sc.ERROR_TYPE] = code
        self._metrics.attempts.add(1, attributes)

    def skipped(self, route: Route, reason: str) -> None:
        with self._lock:
            self.attempts.append(self._attempt(route, "skipped", reason))

    def abandoned(self, route: Route) -> None:
        with self._lock:
            self.attempts.append(self._attempt(route, "abandoned"))

    def fallback(self, source: Route, target: Route, reason: str) -> None:
        with self._lock:
            self._fallbacks += 1
        self.span.add_event(
            sc.EVENT_FALLBACK, {"from": source.name, "to": target.name, "reason": reason}
        )
        self._metrics.fallbacks.add(
            1, {sc.ROUTE: source.name, sc.CLOUD_REGION: source.region, sc.REASON: reason}
        )

    def hedged(self, first: Route, second: Route) -> None:
        self.fallback(first, second, "hedge")

    def retry_hook(
        self, route: Route, budget: RunBudget | None
    ) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if budget is not None:
                budget.add_retry()
            error_type = getattr(error, "code", None) or type(error).__name__
            where = {sc.CLOUD_REGION: route.region, sc.ROUTE: route.name}
            self.span.add_event(
                sc.EVENT_RETRY,
                {
                    "attempt": state.attempt_number,
                    "backoff_s": round(state.upcoming_sleep or 0.0, 6),
                    sc.ERROR_TYPE: error_type,
                    **where,
                },
            )
            self._metrics.retries.add(1, {**where, sc.ERROR_TYPE: error_type})

        return before_sleep

    def succeeded(self, response: ModelResponse, route: Route, duration_s: float) -> None:
        span = self.span
        span.set_attribute(sc.RESPONSE_MODEL, route.model)
        span.set_attribute(sc.ROUTE, route.name)
        span.set_attribute(sc.ATTEMPTS, self._attempt_count())
        span.set_attribute(sc.FALLBACK_COUNT, self._fallbacks)
        usage = response.usage
        span.set_attribute(sc.USAGE_INPUT_TOKENS, usage.prompt_tokens)
        span.set_attribute(sc.USAGE_OUTPUT_TOKENS, usage.output_tokens)
        if usage.cache_read_tokens or usage.cache_write_tokens:
            span.set_attribute(sc.USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_tokens)
            span.set_attribute(sc.USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_write_tokens)
        span.set_attribute(sc.RESPONSE_FINISH_REASONS, [response.stop_reason])
        if response.service_tier:
            span.set_attribute(sc.SERVICE_TIER, response.service_tier)
        if self._capture:
            span.set_attribute(sc.OUTPUT_MESSAGES, _redacted([response.message]))
        where = self._where(route)
        span.set_attributes(where)
        self._metrics.call_ended(
            {**self._call_attributes(), sc.RESPONSE_MODEL: route.model, **where},
            duration_s,
            (usage.prompt_tokens, usage.output_tokens),
            (usage.cache_read_tokens, usage.cache_write_tokens),
        )

    def failed(self, error: BaseException) -> None:
        """The call failed: an agentkit error, or an exception that is not Bedrock's failure
        (a bug in a hook), which reaches the caller unchanged."""
        code: Any = getattr(error, "code", None) or type(error).__name__
        span = self.span
        span.set_attribute(sc.ERROR_TYPE, code)
        span.set_attribute(sc.ATTEMPTS, self._attempt_count())
        span.set_attribute(sc.FALLBACK_COUNT, self._fallbacks)
        span.set_status(Status(StatusCode.ERROR, str(error)))
        last = next((a for a in reversed(self.attempts) if a.outcome != "skipped"), None)
        where = self._where_region(last.region) if last is not None else {}
        span.set_attributes(where)
        self._metrics.call_ended(
            {**self._call_attributes(), **where, sc.ERROR_TYPE: code},
            time.perf_counter() - self.started,
        )

    def _attempt_count(self) -> int:
        return len([a for a in self.attempts if a.outcome != "skipped"])

    def _call_attributes(self) -> dict[str, AttributeValue]:
        return {
            sc.OPERATION_NAME: "chat",
            sc.PROVIDER_NAME: sc.PROVIDER_BEDROCK,
            sc.REQUEST_MODEL: self._requested,
        }

    def _where(self, route: Route) -> dict[str, AttributeValue]:
        return self._where_region(route.region)

    def _where_region(self, region: str) -> dict[str, AttributeValue]:
        host, port = server_of(self._clients, region)
        return {sc.CLOUD_REGION: region, sc.SERVER_ADDRESS: host, sc.SERVER_PORT: port}


def account(
    response: ModelResponse,
    route: Route,
    budget: RunBudget | None,
    recorder: CallRecorder,
    duration_s: float,
) -> None:
    """A successful call's usage into the run budget, the span and the metrics."""
    if budget is not None:
        usage = response.usage
        budget.add_usage(
            usage.input_tokens,
            usage.output_tokens,
            model=route.model,
            region=route.region,
            tier=route.service_tier,
            cache_tokens=usage.cache_read_tokens + usage.cache_write_tokens,
        )
    recorder.succeeded(response, route, duration_s)


def answered(attempts: Sequence[Attempt], usage: Usage) -> tuple[Attempt, ...]:
    """The attempts of a call that succeeded, the one that answered (the last ok) carrying the
    prompt cache tokens of ``usage``."""
    result = list(attempts)
    for index in range(len(result) - 1, -1, -1):
        if result[index].outcome == "ok":
            result[index] = replace(
                result[index],
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
            )
            break
    return tuple(result)


def server_of(clients: Any, region: str) -> tuple[str, int]:
    """The Bedrock Runtime host and port a Region's calls go to: the configured endpoint
    override (a VPC endpoint, the local emulator), else the client's own endpoint (FIPS and
    partition suffixes included), else the standard public name. Called for Regions that were
    attempted, whose client exists: looking it up takes no lock."""
    try:
        url = clients.endpoint(region) or clients.client(region).meta.endpoint_url
    except Exception:  # a stand-in client factory: the standard name
        url = None
    parts = urlsplit(url or "")
    if parts.hostname:
        return parts.hostname, parts.port or (80 if parts.scheme == "http" else 443)
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"bedrock-runtime.{region}{suffix}", 443


def _redacted(messages: list[Any]) -> str:
    """Message content for an opted-in span attribute, PII and secrets redacted."""
    return json.dumps(redact_value(messages), default=str)
