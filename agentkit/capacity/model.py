"""One capacity computation: the seed's figures, the corrected model, and the per-Region checks.

:func:`compute_capacity` is pure: a validated :class:`CapacityConfig` in, a frozen
:class:`CapacityReport` out. The table and the JSON output are both rendered from the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.capacity import formulas as f
from agentkit.capacity.advice import collect_warnings
from agentkit.capacity.config import CapacityConfig
from agentkit.regions import EndpointKind, partition_of, profile_destinations


@dataclass(frozen=True)
class SeedFigures:
    """domain.md 3.1 verbatim (O = max_completion_tokens, R = recursion_limit)."""

    call_duration_s: float  # O / TPS
    calls_per_thread_per_minute: float  # 1 + 60 / d
    rpm: float
    input_tokens_per_call: float  # S + U + O(R-1)/R
    tpm: float
    input_tokens_full_history: float  # S + U + O(R-1)/2
    tpm_full_history: float
    tpm_settled: float  # the seed's RPM x the corrected settled tokens per call (3.3)


@dataclass(frozen=True)
class ModelFigures:
    """domain.md 3.4."""

    call_duration_s: float  # d
    calls_per_thread: float  # N
    rpm: float
    carry_tokens: float
    input_tokens_per_call: float  # I
    tpm_raw: float
    tpm_settled: float
    tpm_admission: float
    burndown: float
    burndown_source: str
    max_completion_tokens: int
    avg_completion_tokens: float


@dataclass(frozen=True)
class RegionFigures:
    """One Region's quota against the load that originates there."""

    region: str
    share: float
    quota_tpm: float  # effective: doubled when cris_double applies
    headroom_settled: float
    headroom_admission: float
    ok: bool  # both headrooms >= safety margin
    tpd_needed: float
    tpd_quota: float
    tpd_quota_is_default: bool
    tpd_ok: bool


@dataclass(frozen=True)
class NPlusOne:
    """Lose the largest source Region: do the other Regions' quotas cover the whole peak?"""

    lost_region: str
    surviving_regions: tuple[str, ...]
    surviving_tpm: float
    peak_tpm_settled: float
    peak_tpm_admission: float

    @property
    def ok_settled(self) -> bool:
        return self.surviving_tpm >= self.peak_tpm_settled

    @property
    def ok_admission(self) -> bool:
        return self.surviving_tpm >= self.peak_tpm_admission

    @property
    def ok(self) -> bool:
        return self.ok_settled and self.ok_admission


@dataclass(frozen=True)
class CapacityReport:
    seed: SeedFigures
    model: ModelFigures
    regions: tuple[RegionFigures, ...]
    n_plus_one: NPlusOne
    endpoint: EndpointKind
    quota_regions: tuple[str, ...]  # source Regions, each with its own quota
    routing_regions: tuple[str, ...]  # where the profile may process a call
    peak_factor: float
    safety_margin: float
    warnings: tuple[str, ...]

    @property
    def headroom_ok(self) -> bool:
        return all(r.ok for r in self.regions)

    @property
    def tpd_ok(self) -> bool:
        return all(r.tpd_ok for r in self.regions)

    @property
    def ok(self) -> bool:
        return self.headroom_ok and self.tpd_ok and self.n_plus_one.ok


def compute_capacity(config: CapacityConfig) -> CapacityReport:
    """Every figure of the calculator, from one validated configuration."""
    model = model_figures(config)
    regions = tuple(region_figures(config, model, r) for r in sorted(config.quotas))
    return CapacityReport(
        seed=seed_figures(config),
        model=model,
        regions=regions,
        n_plus_one=n_plus_one(config, model),
        endpoint=config.resolved_endpoint,
        quota_regions=quota_regions(config),
        routing_regions=routing_regions(config),
        peak_factor=config.peak_factor,
        safety_margin=config.safety_margin,
        warnings=collect_warnings(config, model),
    )


def seed_figures(config: CapacityConfig) -> SeedFigures:
    o_max = config.resolved_max_completion_tokens
    threads = config.concurrent_threads or config.threads_per_minute or 0.0
    s, u, r = config.system_prompt_tokens, config.user_prompt_tokens, config.recursion_limit
    duration = f.seed_call_duration(o_max, config.tokens_per_second)
    rpm = f.seed_rpm(threads, o_max, config.tokens_per_second)
    seed_input = f.seed_input_tokens(s, u, o_max, r)
    full_input = f.seed_input_tokens_full_history(s, u, o_max, r)
    return SeedFigures(
        call_duration_s=duration,
        calls_per_thread_per_minute=1 + 60 / duration,
        rpm=rpm,
        input_tokens_per_call=seed_input,
        tpm=rpm * seed_input,
        input_tokens_full_history=full_input,
        tpm_full_history=rpm * full_input,
        tpm_settled=rpm * _settled_per_call(config, _input_per_call(config)),
    )


def model_figures(config: CapacityConfig) -> ModelFigures:
    o_avg = config.resolved_avg_completion_tokens
    o_max = config.resolved_max_completion_tokens
    burndown = config.resolved_burndown
    n = config.calls_per_thread_effective
    duration = f.call_duration(
        config.time_to_first_token_s, o_avg, config.tokens_per_second, config.tool_time_s
    )
    if config.concurrent_threads is not None:
        rpm = f.rpm_from_concurrency(config.concurrent_threads, duration)
    else:
        rpm = f.rpm_from_arrivals(config.threads_per_minute or 0.0, n)
    per_call = _input_per_call(config)
    return ModelFigures(
        call_duration_s=duration,
        calls_per_thread=n,
        rpm=rpm,
        carry_tokens=_carry(config),
        input_tokens_per_call=per_call,
        tpm_raw=rpm * f.raw_tokens_per_call(per_call, o_avg),
        tpm_settled=rpm * _settled_per_call(config, per_call),
        tpm_admission=rpm * f.admission_tokens_per_call(per_call, o_max, burndown.rate),
        burndown=burndown.rate,
        burndown_source=burndown.source,
        max_completion_tokens=o_max,
        avg_completion_tokens=o_avg,
    )


def _carry(config: CapacityConfig) -> float:
    return f.carry_tokens(
        config.resolved_avg_completion_tokens,
        config.tool_result_tokens_per_call,
        config.calls_per_thread_effective,
        config.context_mode,
    )


def _input_per_call(config: CapacityConfig) -> float:
    return f.input_tokens(
        config.system_prompt_tokens,
        config.user_prompt_tokens,
        config.rag_tokens_per_call,
        _carry(config),
    )


def _settled_per_call(config: CapacityConfig, input_per_call: float) -> float:
    return f.settled_tokens_per_call(
        input_per_call,
        config.resolved_avg_completion_tokens,
        config.resolved_burndown.rate,
        config.cached_prefix_tokens,
        config.cache_hit_rate,
    )


def effective_quota_tpm(config: CapacityConfig, region: str) -> float:
    """The Region's TPM quota, doubled for CRIS endpoints only when ``cris_double`` is on."""
    factor = 2 if config.cris_double and config.resolved_endpoint != "in-region" else 1
    return float(config.quotas[region].tpm * factor)


def region_figures(config: CapacityConfig, model: ModelFigures, region: str) -> RegionFigures:
    share = config.traffic_share.get(region, 0.0)
    quota = effective_quota_tpm(config, region)
    settled = f.headroom(config.peak_factor, share, model.tpm_settled, quota)
    admission = f.headroom(config.peak_factor, share, model.tpm_admission, quota)
    configured_tpd = config.quotas[region].tpd
    tpd_quota = f.default_tpd(quota) if configured_tpd is None else float(configured_tpd)
    tpd_needed = f.tokens_per_day(model.tpm_settled, share)
    return RegionFigures(
        region=region,
        share=share,
        quota_tpm=quota,
        headroom_settled=settled,
        headroom_admission=admission,
        ok=settled >= config.safety_margin and admission >= config.safety_margin,
        tpd_needed=tpd_needed,
        tpd_quota=tpd_quota,
        tpd_quota_is_default=configured_tpd is None,
        tpd_ok=tpd_needed <= tpd_quota,
    )


def n_plus_one(config: CapacityConfig, model: ModelFigures) -> NPlusOne:
    """Lose the source Region with the largest share (ties: the larger quota, then the name)."""
    lost = max(
        config.traffic_share,
        key=lambda r: (config.traffic_share[r], config.quotas[r].tpm, r),
    )
    survivors = tuple(sorted(r for r in config.quotas if r != lost))
    return NPlusOne(
        lost_region=lost,
        surviving_regions=survivors,
        surviving_tpm=sum(effective_quota_tpm(config, r) for r in survivors),
        peak_tpm_settled=config.peak_factor * model.tpm_settled,
        peak_tpm_admission=config.peak_factor * model.tpm_admission,
    )


def quota_regions(config: CapacityConfig) -> tuple[str, ...]:
    """The source Regions called from: each has its own per-model quota."""
    return tuple(sorted(r for r, share in config.traffic_share.items() if share > 0))


def routing_regions(config: CapacityConfig) -> tuple[str, ...]:
    """Where calls may be processed: configured (from ``GetInferenceProfile``), else the profile's
    documented destinations, else (in-Region calls) the source Regions themselves."""
    if config.routing_regions is not None:
        return tuple(sorted(set(config.routing_regions)))
    sources = quota_regions(config)
    if config.model_id is not None and config.resolved_endpoint != "in-region":
        partition = partition_of(sources[0]) if sources else "aws"
        destinations = profile_destinations(config.model_id, partition)
        if destinations:
            return tuple(sorted(destinations))
    return sources
