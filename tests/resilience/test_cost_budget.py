"""A run budget in dollars beside the token budget (issue 21): each call's usage at the price of
the model, Region and tier that answered; a run ends when it has spent its dollars, and a route
the price table cannot price is refused up front rather than counted as free."""

from __future__ import annotations

import pytest

from agentkit.agents.dr.agent import run_budget_limits
from agentkit.bedrock.types import ModelRequest
from agentkit.capacity.prices import default_prices, route_pricer
from agentkit.config import AgentkitConfig, Route
from agentkit.emulator import Emulator
from agentkit.errors import BudgetExceeded, ConfigError
from agentkit.resilience.budget import BudgetLimits, RunBudget
from tests.bedrock.conftest import HI, NOVA, SONNET, TERTIARY, config

NOVA_ROUTE = Route(model=NOVA, region=TERTIARY)


def nova_rates() -> tuple[float, float]:
    entry = default_prices().model_price(NOVA, TERTIARY, None)
    assert entry is not None
    return entry.input_per_1k, entry.output_per_1k


def test_usage_is_priced_at_the_answering_models_rates_cache_tokens_at_the_input_price() -> None:
    budget = RunBudget(BudgetLimits(cost_usd=1.0, price=route_pricer([NOVA_ROUTE])))
    budget.add_usage(1_000, 500, model=NOVA, region=TERTIARY, cache_tokens=2_000)
    per_in, per_out = nova_rates()
    assert budget.cost_usd == pytest.approx(3 * per_in + 0.5 * per_out)
    assert budget.snapshot()["cost_usd"] == pytest.approx(3 * per_in + 0.5 * per_out)
    budget.check()  # well under a dollar


def test_the_run_stops_once_its_dollars_are_spent() -> None:
    budget = RunBudget(BudgetLimits(cost_usd=0.01, price=route_pricer([NOVA_ROUTE])))
    budget.add_usage(20_000, 0, model=NOVA, region=TERTIARY)  # 20 x the input price per 1k
    with pytest.raises(BudgetExceeded) as caught:
        budget.check()
    assert caught.value.kind == "cost_usd"


def test_a_model_without_a_price_is_never_counted_as_free() -> None:
    budget = RunBudget(BudgetLimits(cost_usd=1.0, price=route_pricer([NOVA_ROUTE])))
    budget.add_usage(10, 10, model=SONNET, region="us-east-1")
    with pytest.raises(ConfigError, match=r"limits.run_cost_budget_usd: .*has no price"):
        budget.check()


def test_without_a_dollar_limit_nothing_is_priced() -> None:
    budget = RunBudget(BudgetLimits(tokens=100))
    budget.add_usage(10, 10, model=SONNET, region="us-east-1")
    budget.check()
    assert budget.cost_usd == 0


def test_a_configuration_with_an_unpriced_route_is_refused_naming_it() -> None:
    settings = AgentkitConfig.model_validate({"limits": {"run_cost_budget_usd": 0.5}})
    with pytest.raises(ConfigError) as caught:
        run_budget_limits(settings)
    message = str(caught.value)
    assert message.startswith("limits.run_cost_budget_usd: us.anthropic.claude-sonnet-4-5")
    assert "prices-v1" in message
    assert "\n" not in message


def test_no_limit_set_needs_no_price() -> None:
    assert run_budget_limits(AgentkitConfig()).cost_usd is None


@pytest.mark.emulator(regions=[TERTIARY])
def test_a_gateway_run_on_a_priced_route_ends_at_its_dollar_limit(
    bedrock_emulator: Emulator,
) -> None:
    from agentkit.bedrock.gateway import Gateway

    settings = config(
        bedrock_emulator,
        models={
            "routes": [{"model": NOVA, "region": TERTIARY}],
            "endpoints": bedrock_emulator.endpoints,
        },
        limits={"max_tokens": 64, "run_cost_budget_usd": 0.0000001},
    )
    gateway = Gateway.from_config(settings)
    try:
        budget = RunBudget(run_budget_limits(settings))
        request = ModelRequest(messages=HI, max_tokens=64)
        gateway.converse(request, budget=budget)  # the first call spends more than the limit
        assert budget.cost_usd > 0.0000001
        calls = len(bedrock_emulator.calls())
        with pytest.raises(BudgetExceeded) as caught:
            gateway.converse(request, budget=budget)
        assert caught.value.kind == "cost_usd"
        assert len(bedrock_emulator.calls()) == calls  # refused before it was sent
    finally:
        gateway.close()
