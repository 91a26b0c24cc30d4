"""Failover quota readiness: take each Region out in turn; can the others carry the whole load?

The N+1 check of the report loses only the largest Region; a failover plan needs every Region
covered. Quotas are the configured figures (applied quotas from Service Quotas can be lower than
the defaults: configure what the account shows). A standby Region that carries no regular
traffic is flagged: AWS gives quota increases first to traffic that already uses its quota.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.capacity import formulas as f
from agentkit.capacity.config import CapacityConfig
from agentkit.capacity.model import effective_quota_tpm, model_figures


@dataclass(frozen=True)
class FailoverCase:
    lost_region: str
    surviving_regions: tuple[str, ...]
    surviving_tpm: float
    needed_tpm: float  # peak, at admission (worst-case reservation): what must be admitted
    surviving_tpd: float
    needed_tpd: float  # a day at the average rate, all of it on the survivors

    @property
    def tpm_shortfall(self) -> float:
        return max(0.0, self.needed_tpm - self.surviving_tpm)

    @property
    def tpd_shortfall(self) -> float:
        return max(0.0, self.needed_tpd - self.surviving_tpd)

    @property
    def ok(self) -> bool:
        return self.tpm_shortfall == 0 and self.tpd_shortfall == 0


@dataclass(frozen=True)
class FailoverReadiness:
    cases: tuple[FailoverCase, ...]
    idle_standbys: tuple[str, ...]  # quota configured, no traffic share

    @property
    def ok(self) -> bool:
        return all(case.ok for case in self.cases)

    def shortfalls(self) -> list[str]:
        """One line per Region whose loss the others cannot absorb, naming the shortfall."""
        lines = []
        for case in self.cases:
            if case.ok:
                continue
            parts = []
            if case.tpm_shortfall:
                parts.append(f"{case.tpm_shortfall:,.0f} TPM short")
            if case.tpd_shortfall:
                parts.append(f"{case.tpd_shortfall:,.0f} TPD short")
            survivors = ", ".join(case.surviving_regions) or "no other Region"
            lines.append(
                f"losing {case.lost_region}: {survivors} cannot absorb it ({'; '.join(parts)})"
            )
        return lines


def _tpd_quota(config: CapacityConfig, region: str) -> float:
    configured = config.quotas[region].tpd
    return f.default_tpd(effective_quota_tpm(config, region)) if configured is None else configured


def failover_readiness(config: CapacityConfig) -> FailoverReadiness:
    model = model_figures(config)
    needed_tpm = config.peak_factor * model.tpm_admission
    needed_tpd = f.tokens_per_day(model.tpm_settled, 1.0)
    cases = []
    for lost in sorted(config.quotas):
        survivors = tuple(r for r in sorted(config.quotas) if r != lost)
        cases.append(
            FailoverCase(
                lost_region=lost,
                surviving_regions=survivors,
                surviving_tpm=sum(effective_quota_tpm(config, r) for r in survivors),
                needed_tpm=needed_tpm,
                surviving_tpd=sum(_tpd_quota(config, r) for r in survivors),
                needed_tpd=needed_tpd,
            )
        )
    idle = tuple(r for r in sorted(config.quotas) if config.traffic_share.get(r, 0.0) == 0)
    return FailoverReadiness(tuple(cases), idle)
