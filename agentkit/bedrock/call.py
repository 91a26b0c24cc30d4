"""Per-call bookkeeping of the gateway: attempts, and the span events that explain them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, Status, StatusCode
from tenacity import RetryCallState

from agentkit.bedrock.types import Attempt, ModelRequest, ModelResponse
from agentkit.config import Route
from agentkit.errors import AgentkitError
from agentkit.guardrails.pii import redact_value
from agentkit.resilience.budget import RunBudget
from agentkit.telemetry import semconv as sc

if TYPE_CHECKING:
    from agentkit.bedrock.gateway import Gateway


class CallRecorder:
    """Thread-safe (hedged attempts run in parallel); one per gateway call."""

    def __init__(self, span: Span, request: ModelRequest, gateway: Gateway) -> None:
        self.span = span
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._fallbacks = 0
        span.set_attribute(sc.OPERATION_NAME, "chat")
        span.set_attribute(sc.PROVIDER_NAME, sc.PROVIDER_BEDROCK)
        span.set_attribute(sc.REQUEST_MODEL, gateway.routes[0].model)
        if request.max_tokens is not None:
            span.set_attribute(sc.REQUEST_MAX_TOKENS, request.max_tokens)
        if request.temperature is not None:
            span.set_attribute(sc.REQUEST_TEMPERATURE, request.temperature)
        if gateway.capture_content:
            span.set_attribute(sc.INPUT_MESSAGES, _redacted(list(request.messages)))
        self._capture = gateway.capture_content

    def attempted(self, route: Route, outcome: str, code: str | None, latency_s: float) -> None:
        attempt = Attempt(route.name, route.region, route.model, outcome, code, round(latency_s, 6))
        with self._lock:
            self.attempts.append(attempt)

    def skipped(self, route: Route, reason: str) -> None:
        with self._lock:
            self.attempts.append(Attempt(route.name, route.region, route.model, "skipped", reason))

    def abandoned(self, route: Route) -> None:
        with self._lock:
            self.attempts.append(Attempt(route.name, route.region, route.model, "abandoned"))

    def fallback(self, source: Route, target: Route, reason: str) -> None:
        with self._lock:
            self._fallbacks += 1
        self.span.add_event(
            sc.EVENT_FALLBACK, {"from": source.name, "to": target.name, "reason": reason}
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
            self.span.add_event(
                sc.EVENT_RETRY,
                {
                    "attempt": state.attempt_number,
                    "backoff_s": round(state.upcoming_sleep or 0.0, 6),
                    sc.ERROR_TYPE: getattr(error, "code", None) or type(error).__name__,
                    sc.CLOUD_REGION: route.region,
                    sc.ROUTE: route.name,
                },
            )

        return before_sleep

    def succeeded(self, response: ModelResponse, route: Route) -> None:
        span = self.span
        span.set_attribute(sc.RESPONSE_MODEL, route.model)
        span.set_attribute(sc.CLOUD_REGION, route.region)
        span.set_attribute(sc.ROUTE, route.name)
        span.set_attribute(sc.ATTEMPTS, len([a for a in self.attempts if a.outcome != "skipped"]))
        span.set_attribute(sc.FALLBACK_COUNT, self._fallbacks)
        span.set_attribute(sc.USAGE_INPUT_TOKENS, response.usage.input_tokens)
        span.set_attribute(sc.USAGE_OUTPUT_TOKENS, response.usage.output_tokens)
        span.set_attribute(sc.RESPONSE_FINISH_REASONS, [response.stop_reason])
        if self._capture:
            span.set_attribute(sc.OUTPUT_MESSAGES, _redacted([response.message]))

    def failed(self, error: AgentkitError) -> None:
        code: Any = getattr(error, "code", None) or type(error).__name__
        self.span.set_attribute(sc.ERROR_TYPE, code)
        self.span.set_attribute(
            sc.ATTEMPTS, len([a for a in self.attempts if a.outcome != "skipped"])
        )
        self.span.set_attribute(sc.FALLBACK_COUNT, self._fallbacks)
        self.span.set_status(Status(StatusCode.ERROR, str(error)))


def _redacted(messages: list[Any]) -> str:
    """Message content for an opted-in span attribute, PII and secrets redacted."""
    return json.dumps(redact_value(messages), default=str)
