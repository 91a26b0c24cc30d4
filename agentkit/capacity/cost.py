"""Dollars per month per Region and tier, from the capacity model and the price table.

The tokens billed are the average load (the peak factor sizes quotas, not the bill): in each
source Region ``r``, per month,

    input_tokens[r]  = RPM * share[r] * 60 * 730 * I        (I: input tokens per call)
    output_tokens[r] = RPM * share[r] * 60 * 730 * O_avg
    usd[r]           = input_tokens[r] / 1000 * input_per_1k
                     + output_tokens[r] / 1000 * output_per_1k

at the model and tier of the ``capacity:`` section (``model_id``, ``service_tier``; a profile is
priced as its base model). A Region with no share carries no on-demand tokens: it costs nothing
until it takes traffic. Nothing is priced that the table does not hold; the report says what it
could not price and every assumption it made.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.capacity.config import CapacityConfig
from agentkit.capacity.model import ModelFigures
from agentkit.capacity.prices import DEFAULT_TIER, HOURS_PER_MONTH, ModelPrice, PriceTable

MINUTES_PER_MONTH = HOURS_PER_MONTH * 60


@dataclass(frozen=True)
class RegionCost:
    region: str
    tier: str
    share: float
    input_tokens: float  # per month
    output_tokens: float
    input_usd: float
    output_usd: float

    @property
    def usd(self) -> float:
        return self.input_usd + self.output_usd


@dataclass(frozen=True)
class RunBudgetCost:
    """What one run's token budget (``limits.run_token_budget``) costs at this model's prices."""

    tokens: int
    usd_at_mix: float  # input and output in the proportion of the capacity model's calls
    usd_all_output: float  # the ceiling: every token an output token


@dataclass(frozen=True)
class CostReport:
    table: str  # "prices-v1, read 2026-12-07"
    model_id: str | None
    tier: str
    price: ModelPrice | None
    regions: tuple[RegionCost, ...]  # empty when the model is not priced
    not_priced: tuple[str, ...]  # why a figure is missing, one line each
    assumptions: tuple[str, ...]
    run_budget: RunBudgetCost | None

    @property
    def usd_per_month(self) -> float | None:
        if self.price is None:
            return None
        return sum(r.usd for r in self.regions)


def monthly_cost(
    config: CapacityConfig,
    model: ModelFigures,
    table: PriceTable,
    *,
    run_token_budget: int | None = None,
) -> CostReport:
    tier = config.service_tier or DEFAULT_TIER
    assumptions = [
        f"{HOURS_PER_MONTH} hours a month at the average load (RPM {model.rpm:g}); the peak "
        "factor sizes quotas, not the bill",
        "every input token billed at the input price (no prompt-cache prices in the table)",
    ]
    if config.model_id is None:
        return _unpriced(table, None, tier, assumptions, "set capacity.model_id to price the load")
    prices = {r: table.model_price(config.model_id, r, tier) for r in sorted(config.quotas)}
    missing = sorted(r for r, p in prices.items() if p is None)
    if missing:
        why = (
            f"{table.label()} has no price for {config.model_id} at the {tier} tier in "
            f"{', '.join(missing)}; see its not_covered list"
        )
        return _unpriced(table, config.model_id, tier, assumptions, why)
    price = next(p for p in prices.values() if p is not None)
    assumptions += price.assumptions()
    regions = tuple(_region(config, model, r, tier, prices[r] or price) for r in prices)
    return CostReport(
        table=table.label(),
        model_id=config.model_id,
        tier=tier,
        price=price,
        regions=regions,
        not_priced=(),
        assumptions=tuple(assumptions),
        run_budget=_run_budget(model, price, run_token_budget),
    )


def _unpriced(
    table: PriceTable, model_id: str | None, tier: str, assumptions: list[str], why: str
) -> CostReport:
    return CostReport(table.label(), model_id, tier, None, (), (why,), tuple(assumptions), None)


def _region(
    config: CapacityConfig, model: ModelFigures, region: str, tier: str, price: ModelPrice
) -> RegionCost:
    share = config.traffic_share.get(region, 0.0)
    calls = model.rpm * share * MINUTES_PER_MONTH
    input_tokens = calls * model.input_tokens_per_call
    output_tokens = calls * model.avg_completion_tokens
    return RegionCost(
        region=region,
        tier=tier,
        share=share,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_usd=input_tokens / 1000 * price.input_per_1k,
        output_usd=output_tokens / 1000 * price.output_per_1k,
    )


def _run_budget(model: ModelFigures, price: ModelPrice, tokens: int | None) -> RunBudgetCost | None:
    if tokens is None:
        return None
    per_call = model.input_tokens_per_call + model.avg_completion_tokens
    output_share = model.avg_completion_tokens / per_call
    per_1k = (1 - output_share) * price.input_per_1k + output_share * price.output_per_1k
    return RunBudgetCost(
        tokens=tokens,
        usd_at_mix=tokens / 1000 * per_1k,
        usd_all_output=tokens / 1000 * price.output_per_1k,
    )
