"""The ``capacity:`` section of agentkit.yaml, parsed into frozen models.

Every rule that can be checked on the input alone is checked here, so a bad value is one line
naming the file, line and key (``agentkit.yamlsource.parse_model``). Symbols follow domain.md 3.4.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from agentkit.capacity.burndown import Burndown, default_table, describe
from agentkit.errors import UserError
from agentkit.regions import EndpointKind, endpoint_kind, require_known_region

SHARE_TOLERANCE = 1e-6
ContextMode = Literal["last", "full"]
ServiceTier = Literal["priority", "default", "flex", "reserved"]  # as agentkit.config's routes
Share = Annotated[float, Field(ge=0, le=1)]


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("capacity", message)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RegionQuota(_Frozen):
    """A source Region's quota for the model: tokens per minute, and optionally per day."""

    tpm: int = Field(gt=0)
    tpd: int | None = Field(default=None, gt=0)  # default: tpm x 1440 (BURN)


class ToolLoad(_Frozen):
    """One tool's load for the concurrency check (docs/capacity.md, "Tools"): its call rate,
    given per model request (RPM) or per second, and its p99 duration."""

    calls_per_request: float | None = Field(default=None, gt=0)  # tool calls per model call
    calls_per_second: float | None = Field(default=None, gt=0)  # average, before peak_factor
    duration_s: float = Field(gt=0)  # p99 duration of one call
    lambda_concurrency: int | None = Field(default=None, ge=1)  # reserved or account limit

    @model_validator(mode="after")
    def _one_rate(self) -> ToolLoad:
        if (self.calls_per_request is None) == (self.calls_per_second is None):
            raise _invalid("give either calls_per_request or calls_per_second, not both")
        return self


class CapacityConfig(_Frozen):
    """Inputs of the capacity calculator. Field order matters: validators read earlier fields."""

    concurrent_threads: float | None = Field(default=None, gt=0)  # C
    threads_per_minute: float | None = Field(default=None, gt=0)  # lambda
    calls_per_thread: float | None = Field(default=None, ge=1)  # N_avg
    recursion_limit: int = Field(ge=1)  # R
    max_completion_tokens: int | None = Field(default=None, ge=1)  # O_max; unset: model maximum
    avg_completion_tokens: float | None = Field(default=None, gt=0)  # O_avg; default O_max
    tokens_per_second: float = Field(gt=0)  # TPS
    time_to_first_token_s: float = Field(default=0.0, ge=0)
    tool_time_s: float = Field(default=0.0, ge=0)
    system_prompt_tokens: int = Field(default=0, ge=0)  # S
    user_prompt_tokens: int = Field(default=0, ge=0)  # U
    rag_tokens_per_call: float = Field(default=0.0, ge=0)  # K
    tool_result_tokens_per_call: float = Field(default=0.0, ge=0)  # T
    context_mode: ContextMode = "last"
    cached_prefix_tokens: int = Field(default=0, ge=0)  # P <= S
    cache_hit_rate: float = Field(default=0.0, ge=0, le=1)  # h
    burndown: float | None = Field(default=None, ge=1)  # b; unset: from the model ID
    model_id: str | None = Field(default=None, min_length=1)
    service_tier: ServiceTier | None = None  # the tier the load is priced at; unset: default
    peak_factor: float = Field(default=1.0, gt=0)  # p
    safety_margin: float = Field(default=0.2, ge=0, lt=1)  # m
    endpoint: EndpointKind | None = None  # default: from the model ID, else in-region
    cris_double: bool = False  # historical "up to double the quota" for CRIS; off by default
    routing_regions: tuple[str, ...] | None = None  # default: the profile's destinations
    quotas: dict[str, RegionQuota]
    traffic_share: dict[str, Share]
    tools: dict[str, ToolLoad] = Field(default_factory=dict)  # by tool or MCP server name

    @field_validator("avg_completion_tokens")
    @classmethod
    def _avg_within_max(cls, value: float | None, info: ValidationInfo) -> float | None:
        maximum = info.data.get("max_completion_tokens")
        if value is not None and maximum is not None and value > maximum:
            raise _invalid(f"must not exceed max_completion_tokens ({maximum}) (got {value:g})")
        return value

    @field_validator("cached_prefix_tokens")
    @classmethod
    def _prefix_within_system_prompt(cls, value: int, info: ValidationInfo) -> int:
        system = info.data.get("system_prompt_tokens")
        if system is not None and value > system:
            raise _invalid(
                f"the cached prefix is part of the system prompt: must not exceed "
                f"system_prompt_tokens ({system}) (got {value})"
            )
        return value

    @field_validator("model_id")
    @classmethod
    def _model_in_table(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        entry = default_table().lookup(value)
        version = f"burndown-v{default_table().version}"
        if info.data.get("burndown") is None and "burndown" in info.data and entry is None:
            raise _invalid(f"no burndown rate for {value!r} in {version}; set capacity.burndown")
        unset_max = info.data.get("max_completion_tokens") is None
        known_max = entry is not None and entry.max_output_tokens is not None
        if unset_max and "max_completion_tokens" in info.data and not known_max:
            raise _invalid(
                f"the maximum output of {value!r} is not in {version}; "
                "set capacity.max_completion_tokens"
            )
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_matches_model(
        cls, value: EndpointKind | None, info: ValidationInfo
    ) -> EndpointKind | None:
        model_id = info.data.get("model_id")
        if value is not None and model_id is not None and endpoint_kind(model_id) != value:
            raise _invalid(f"{value} contradicts model_id {model_id!r} ({endpoint_kind(model_id)})")
        return value

    @field_validator("routing_regions")
    @classmethod
    def _routing_regions_known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            if not value:
                raise _invalid("must list at least one Region")
            _require_known(value)
        return value

    @field_validator("quotas")
    @classmethod
    def _quota_regions_known(cls, value: dict[str, RegionQuota]) -> dict[str, RegionQuota]:
        if not value:
            raise _invalid("give at least one Region's quota, e.g. {us-east-1: {tpm: 400000}}")
        _require_known(value)
        return value

    @field_validator("traffic_share")
    @classmethod
    def _shares_valid(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if not value:
            raise _invalid("give the share of traffic per source Region, e.g. {us-east-1: 1.0}")
        _require_known(value)
        total = math.fsum(value.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise _invalid(f"shares must sum to 1 (they sum to {total:g})")
        quotas = info.data.get("quotas")
        missing = sorted(set(value) - set(quotas)) if quotas is not None else []
        if missing:
            raise _invalid(f"no quota for {', '.join(missing)}: add it under capacity.quotas")
        return value

    @model_validator(mode="after")
    def _one_arrival_model_and_a_burndown(self) -> CapacityConfig:
        if (self.concurrent_threads is None) == (self.threads_per_minute is None):
            raise _invalid(
                "give either concurrent_threads, or threads_per_minute (with calls_per_thread "
                "or recursion_limit calls per thread), not both"
            )
        if self.burndown is None and self.model_id is None:
            raise _invalid("set burndown, or a model_id to look it up in the burndown table")
        if self.max_completion_tokens is None and self.model_id is None:
            raise _invalid("set max_completion_tokens, or a model_id whose maximum is known")
        if self.resolved_avg_completion_tokens > self.resolved_max_completion_tokens:
            raise _invalid(
                f"avg_completion_tokens ({self.resolved_avg_completion_tokens:g}) exceeds the "
                f"model maximum ({self.resolved_max_completion_tokens})"
            )
        return self

    # --- resolved values (every one is guaranteed by the validators above) ---------------------

    @property
    def calls_per_thread_effective(self) -> float:
        """N = min(R, N_avg); N_avg defaults to R."""
        if self.calls_per_thread is None:
            return float(self.recursion_limit)
        return min(float(self.recursion_limit), self.calls_per_thread)

    @property
    def resolved_burndown(self) -> Burndown:
        if self.burndown is not None:
            return Burndown(self.burndown, "config")
        entry = default_table().lookup(self.model_id or "")
        assert entry is not None  # checked by _model_in_table
        return Burndown(entry.burndown, describe(entry, default_table()))

    @property
    def resolved_max_completion_tokens(self) -> int:
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens
        entry = default_table().lookup(self.model_id or "")
        assert entry is not None  # checked by _model_in_table
        assert entry.max_output_tokens is not None
        return entry.max_output_tokens

    @property
    def resolved_avg_completion_tokens(self) -> float:
        if self.avg_completion_tokens is not None:
            return self.avg_completion_tokens
        return float(self.resolved_max_completion_tokens)

    @property
    def resolved_endpoint(self) -> EndpointKind:
        if self.endpoint is not None:
            return self.endpoint
        return endpoint_kind(self.model_id) if self.model_id else "in-region"


def _require_known(regions: Any) -> None:
    for region in regions:
        try:
            require_known_region(region)
        except UserError as exc:
            raise _invalid(str(exc)) from None
