from __future__ import annotations

import pytest

from agentkit.errors import BudgetExceeded
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.clock import FakeClock


@pytest.mark.parametrize(
    ("limits", "use", "kind"),
    [
        (BudgetLimits(tokens=100), lambda b, c: b.add_usage(60, 40), "tokens"),
        (BudgetLimits(model_calls=2), lambda b, c: (b.add_call(), b.add_call()), "model_calls"),
        (BudgetLimits(retries=1), lambda b, c: b.add_retry(), "retries"),
        (BudgetLimits(wall_clock_s=5), lambda b, c: c.advance(5), "wall_clock_s"),
    ],
)
def test_each_budget_kind_is_named_when_exceeded(
    limits: BudgetLimits, use: object, kind: str
) -> None:
    clock = FakeClock()
    budget = RunBudget(limits, clock)
    budget.check()
    use(budget, clock)  # type: ignore[operator]
    with pytest.raises(BudgetExceeded) as caught:
        budget.check()
    assert caught.value.kind == kind
    assert kind in str(caught.value)
