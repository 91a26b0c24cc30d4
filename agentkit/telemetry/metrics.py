"""The gateway's instruments: GenAI client metrics plus agentkit's resilience counters.

``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` follow the GenAI
conventions (their bucket boundaries included). Requests, attempts, retries and fallbacks have
no convention yet: agentkit names them ``agentkit.gateway.*``. Breaker state and admission
headroom are observable gauges (see :mod:`agentkit.telemetry.listeners` and
:func:`observe_admission`), admission rejections an observable counter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import AttributeValue

from agentkit.telemetry import semconv as sc

if TYPE_CHECKING:
    from agentkit.resilience.admission import Admission

Attributes = Mapping[str, AttributeValue]

# The GenAI conventions' advised boundaries.
DURATION_BUCKETS_S = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = tuple(4**n for n in range(14))  # 1, 4, 16 ... 67108864


class GatewayMetrics:
    """One set of instruments per gateway; recording is thread-safe (the SDK's)."""

    def __init__(self, meter: Meter) -> None:
        self.duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration: one gateway call, every route it tried",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Input and output tokens used per call",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.requests = meter.create_counter(
            sc.METRIC_REQUESTS, unit="{request}", description="Calls through the gateway"
        )
        self.attempts = meter.create_counter(
            sc.METRIC_ATTEMPTS, unit="{attempt}", description="Attempts on a route"
        )
        self.retries = meter.create_counter(
            sc.METRIC_RETRIES, unit="{retry}", description="Retries after a retryable error"
        )
        self.fallbacks = meter.create_counter(
            sc.METRIC_FALLBACKS, unit="{fallback}", description="Moves to the next route"
        )
        self.prompt_cache_tokens = meter.create_counter(
            sc.METRIC_PROMPT_CACHE_TOKENS,
            unit="{token}",
            description="Input tokens read from or written to the prompt cache",
        )
        self.routes_disabled = meter.create_counter(
            sc.METRIC_ROUTES_DISABLED,
            unit="{route}",
            description="Routes taken out for the process: a configuration defect",
        )

    def call_ended(
        self,
        attributes: Attributes,
        duration_s: float,
        usage: tuple[int, int] | None = None,
        cache: tuple[int, int] = (0, 0),
    ) -> None:
        """A call's duration and outcome (``error.type`` in ``attributes`` means it failed),
        and its tokens when it succeeded: ``usage`` is (input, output), input counting the
        prompt cache's reads and writes, which ``cache`` gives apart (read, write)."""
        self.duration.record(duration_s, attributes)
        outcome = "error" if sc.ERROR_TYPE in attributes else "ok"
        self.requests.add(1, {**attributes, sc.OUTCOME: outcome})
        if usage is not None:
            self.token_usage.record(usage[0], {**attributes, sc.TOKEN_TYPE: "input"})
            self.token_usage.record(usage[1], {**attributes, sc.TOKEN_TYPE: "output"})
        for kind, tokens in zip(("read", "write"), cache, strict=True):
            if tokens:
                self.prompt_cache_tokens.add(tokens, {**attributes, sc.PROMPT_CACHE: kind})


def observe_admission(meter: Meter, admission: Admission) -> None:
    """``agentkit.admission.available_tokens`` per route and ``agentkit.admission.rejections``
    (calls refused because no route had quota headroom in time or the queue was full), both
    read from ``admission`` when metrics are collected."""

    def available(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(s.level, {sc.ROUTE: route}) for route, s in admission.state().items()]

    def rejected(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(admission.rejected)]

    meter.create_observable_gauge(
        sc.METRIC_ADMISSION_AVAILABLE,
        callbacks=[available],
        unit="{token}",
        description="Quota tokens available to admit calls, per route",
    )
    meter.create_observable_counter(
        sc.METRIC_ADMISSION_REJECTIONS,
        callbacks=[rejected],
        unit="{request}",
        description="Calls refused by admission control: no route had quota headroom in time",
    )
