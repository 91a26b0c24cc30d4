"""Fault plans: what each emulated Region (or model inside it) does wrong, seeded to replay exactly.

A plan is validated as a whole and replaces the previous one completely (a Region that was down
comes back up). Decisions are made per call, in call order, from counters and one seeded random
stream per Region, so the same sequence of calls gets the same faults on every run.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentkit.capacity.bucket import TokenBucket
from agentkit.emulator.knowledge import NO_RETRIEVAL_FAULTS, RetrievalFaults
from agentkit.emulator.wire_errors import (
    AGENT_ERRORS,
    AGENT_OPERATIONS,
    DROP,
    ERRORS,
    NAMED_FAULTS,
    RETRIEVE_ERRORS,
    STREAM_EXCEPTIONS,
    lower_camel,
)
from agentkit.resilience.clock import Clock
from agentkit.yamlsource import printable

MAX_RULES = 100  # error rules per Region or model
MAX_MODELS = 256  # model overrides per Region
MAX_CALLS = 10_000  # call numbers listed in one rule
MAX_DELAY_MS = 3_600_000  # an hour: longer is a black hole, which says so
# Not a Bedrock code: the call is held unanswered, like a black hole, but only where the rule
# fires (``operations: [CountTokens]`` black-holes the counts and nothing else).
HANG = "hang"


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ErrorRule(_Plan):
    """Fail a call with ``code``. Triggers: ``every`` N-th call, ``first`` N calls, the listed
    ``calls`` (1-based), or with probability ``rate``; with no trigger it fires on every call."""

    code: str
    every: int | None = Field(default=None, ge=1)
    first: int | None = Field(default=None, ge=0)
    calls: tuple[int, ...] | None = Field(default=None, max_length=MAX_CALLS)
    rate: float | None = Field(default=None, ge=0, le=1)
    operations: tuple[str, ...] | None = None
    message: str | None = Field(default=None, max_length=10_000)
    retry_after_ms: int | None = Field(default=None, ge=0, le=MAX_DELAY_MS)

    @model_validator(mode="before")
    @classmethod
    def _named_fault(cls, data: Any) -> Any:
        """``code: daily_quota`` (a named fault) is its Bedrock code and message."""
        if isinstance(data, dict) and data.get("code") in NAMED_FAULTS:
            code, message = NAMED_FAULTS[data["code"]]
            return {**data, "code": code, "message": data.get("message") or message}
        return data

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str) -> str:
        if code not in (DROP, HANG) and code not in ERRORS and code not in AGENT_ERRORS:
            names = ", ".join([*ERRORS, *NAMED_FAULTS, *AGENT_ERRORS])
            raise ValueError(f"unknown error code {code!r}; use one of {names}, drop or hang")
        return code

    @model_validator(mode="after")
    def _agent_codes_for_retrieve(self) -> ErrorRule:
        if self.code in AGENT_ERRORS and not (
            self.operations and set(self.operations) <= AGENT_OPERATIONS
        ):
            raise ValueError(
                f"{self.code} is a Knowledge Base error: add operations: [Retrieve] to the rule"
            )
        return self

    def fires(self, n: int, rng: random.Random, operation: str) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        if self.every is not None and n % self.every != 0:
            return False
        if self.first is not None and n > self.first:
            return False
        if self.calls is not None and n not in self.calls:
            return False
        return not (self.rate is not None and rng.random() >= self.rate)


class StreamFaults(_Plan):
    ttft_ms: float = Field(default=0, ge=0, le=MAX_DELAY_MS)
    inter_event_ms: float = Field(default=0, ge=0, le=MAX_DELAY_MS)
    error_after_events: int | None = Field(default=None, ge=0)
    error_code: str = "throttlingException"
    error_kind: Literal["exception", "error"] = "exception"

    @field_validator("error_code")
    @classmethod
    def _stream_code(cls, code: str) -> str:
        camel = lower_camel(code)
        if camel not in STREAM_EXCEPTIONS:
            raise ValueError(
                f"unknown stream error {code!r}; use one of {sorted(STREAM_EXCEPTIONS)}"
            )
        return camel


class Quota(_Plan):
    """Tokens-per-minute bucket: a call reserves input + maxTokens x burndown, settles on usage."""

    tpm: int = Field(ge=1)
    burndown: float = Field(default=1.0, ge=1)


class TargetFaults(_Plan):
    blackhole: bool = False
    latency_ms: float = Field(default=0, ge=0, le=MAX_DELAY_MS)
    errors: tuple[ErrorRule, ...] = Field(default=(), max_length=MAX_RULES)
    stream: StreamFaults | None = None
    quota: Quota | None = None


class KnowledgeFaults(TargetFaults):
    """Faults of one Knowledge Base (``Retrieve``): the usual errors, latency and black hole,
    plus stale documents and scaled-down scores. ``stream`` and ``quota`` do not apply."""

    stale: bool = False  # serve each document's ``stale`` version (an old sync)
    score_scale: float = Field(default=1.0, ge=0, le=1)  # every score multiplied: low scores

    @model_validator(mode="after")
    def _no_model_faults(self) -> KnowledgeFaults:
        if self.stream is not None or self.quota is not None:
            raise ValueError("stream and quota do not apply to a knowledge base")
        for rule in self.errors:
            if not _retrieve_can_fail_with(rule.code):
                raise ValueError(
                    f"{rule.code} is not an error Retrieve returns; use one of "
                    f"{sorted(RETRIEVE_ERRORS)} (or {DROP}, {HANG})"
                )
        return self


class RegionFaults(TargetFaults):
    down: bool = False
    # model id or glob pattern
    models: dict[str, TargetFaults] = Field(default_factory=dict, max_length=MAX_MODELS)
    # Knowledge Base id or glob pattern (Retrieve calls)
    knowledge_bases: dict[str, KnowledgeFaults] = Field(default_factory=dict, max_length=MAX_MODELS)
    cris_destination: str | None = None


McpFault = Literal["down", "hang", "jsonrpc_error", "is_error", "drop", "drift", "invalid_output"]


class McpServerFaults(_Plan):
    """What one server of ``mcp_servers:`` does wrong in ``agentkit gameday`` (the MCP fault
    server stands in for it, serving its locked tools): ``down`` refuses connections, ``hang``
    answers after ``hang_s``, ``jsonrpc_error`` fails with ``code``, ``is_error`` answers a
    tool error, ``drop`` ends the connection mid-call, ``drift`` serves changed schemas,
    ``invalid_output`` breaks the output schema. ``first``: only the first N calls (then it is
    healthy again); the emulator itself ignores this section."""

    fault: McpFault | None = None
    code: int = Field(default=-32603, ge=-32768, le=-32000)  # JSON-RPC error (jsonrpc_error)
    first: int | None = Field(default=None, ge=0)
    hang_s: float = Field(default=3600, gt=0, le=MAX_DELAY_MS / 1000)

    @model_validator(mode="after")
    def _first_needs_calls(self) -> McpServerFaults:
        if self.first is not None and self.fault in (None, "down", "drift"):
            raise ValueError(
                f"first counts calls of a per-call fault, and {self.fault or 'no fault'} is not "
                "one: use hang, jsonrpc_error, is_error, drop or invalid_output"
            )
        return self


class FaultPlan(_Plan):
    seed: int = 0
    cris_routing: Literal["source", "spread"] = "source"
    regions: dict[str, RegionFaults] = Field(default_factory=dict)
    mcp: dict[str, McpServerFaults] = Field(default_factory=dict)  # by mcp_servers name


@dataclass(frozen=True)
class Decision:
    """What happens to one call."""

    latency_s: float = 0.0
    blackhole: bool = False
    error: ErrorRule | None = None
    stream: StreamFaults = field(default_factory=StreamFaults)
    quota: Quota | None = None
    quota_key: tuple[str, str] = ("", "")
    retrieval: RetrievalFaults = NO_RETRIEVAL_FAULTS


class FaultState:
    """The running plan plus its counters, random streams and quota buckets. Not thread-safe:
    the emulator touches it only from its event loop."""

    def __init__(self, plan: FaultPlan, clock: Clock) -> None:
        self.plan = plan
        self._clock = clock
        self._calls: dict[str, int] = {}
        self._model_calls: dict[tuple[str, str], int] = {}
        self._rngs: dict[str, random.Random] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._spread: dict[str, int] = {}

    def region(self, name: str) -> RegionFaults:
        return self.plan.regions.get(name) or _HEALTHY

    def decide(self, region: str, model: str, operation: str) -> Decision:
        faults = self.region(region)
        n = self._calls[region] = self._calls.get(region, 0) + 1
        rng = self._rngs.setdefault(region, random.Random(f"{self.plan.seed}/{region}"))
        retrieve = operation == "Retrieve"
        overrides: dict[str, Any] = faults.knowledge_bases if retrieve else faults.models
        pattern, override = _match_model(overrides, model)
        rules: list[tuple[ErrorRule, int]] = []
        if override is not None:
            key = (region, f"kb:{pattern}" if retrieve else pattern)
            m = self._model_calls[key] = self._model_calls.get(key, 0) + 1
            rules += [(rule, m) for rule in override.errors]
        # A Region-wide rule fails the operations that can return its code.
        rules += [
            (rule, n)
            for rule in faults.errors
            if not retrieve or _retrieve_can_fail_with(rule.code)
        ]
        error = next((r for r, count in rules if r.fires(count, rng, operation)), None)
        hang = error is not None and error.code == HANG
        target: TargetFaults = override or faults
        return Decision(
            latency_s=(
                override.latency_ms if override and override.latency_ms else faults.latency_ms
            )
            / 1000,
            blackhole=hang or faults.blackhole or bool(override and override.blackhole),
            error=None if hang else error,
            stream=(override and override.stream) or faults.stream or _NO_STREAM_FAULTS,
            quota=None if retrieve else target.quota or faults.quota,
            quota_key=(region, model),
            retrieval=_retrieval(override),
        )

    def bucket(self, decision: Decision) -> TokenBucket | None:
        if decision.quota is None:
            return None
        bucket = self._buckets.get(decision.quota_key)
        if bucket is None:
            bucket = self._buckets[decision.quota_key] = TokenBucket(
                decision.quota.tpm, clock=self._clock
            )
        return bucket

    def next_spread(self, source: str, candidates: list[str]) -> str:
        turn = self._spread[source] = self._spread.get(source, -1) + 1
        return candidates[turn % len(candidates)]


_HEALTHY = RegionFaults()
_NO_STREAM_FAULTS = StreamFaults()


def _retrieval(override: TargetFaults | None) -> RetrievalFaults:
    if not isinstance(override, KnowledgeFaults):
        return NO_RETRIEVAL_FAULTS
    return RetrievalFaults(stale=override.stale, score_scale=override.score_scale)


def _match_model(models: dict[str, Any], model: str) -> tuple[str, TargetFaults | None]:
    if model in models:
        return model, models[model]
    for pattern, faults in models.items():
        if fnmatch.fnmatchcase(model, pattern):
            return pattern, faults
    return "", None


def describe_plan_error(exc: Exception) -> str:
    """One line naming the field of a bad plan (for the control API and the CLI)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(printable(str(p)) for p in first["loc"]) or "(top level)"
        return f"{where}: {printable(first['msg'])}"
    return printable(str(exc))


def parse_plan(data: Any) -> FaultPlan:
    return FaultPlan.model_validate(data if data is not None else {})


def _retrieve_can_fail_with(code: str) -> bool:
    return code in RETRIEVE_ERRORS or code in (DROP, HANG)
