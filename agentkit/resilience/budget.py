"""A run budget: tokens, dollars, model calls, retries and wall clock for one agent run.

Dollars are counted from each call's usage at the price ``BudgetLimits.price`` gives for the
model, Region and tier that answered (USD per 1,000 input and output tokens; prompt-cache reads
and writes at the input price, since the price table has no cache price). A call whose model has
no price cannot be held to a dollar budget: the next :meth:`RunBudget.check` says so instead of
letting the run go on uncounted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from agentkit.errors import BudgetExceeded, ConfigError
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock

# (model, Region or None, service tier or None) -> USD per 1,000 (input, output) tokens, or None
Pricer = Callable[[str, str | None, str | None], tuple[float, float] | None]


@dataclass(frozen=True)
class BudgetLimits:
    tokens: int | None = None  # input + output
    model_calls: int | None = None
    retries: int | None = None
    wall_clock_s: float | None = None
    cost_usd: float | None = None  # needs ``price``
    price: Pricer | None = None


class RunBudget:
    """Counts what one run used; :meth:`check` raises :class:`BudgetExceeded` naming the kind."""

    def __init__(self, limits: BudgetLimits, clock: Clock = SYSTEM_CLOCK) -> None:
        self.limits = limits
        self._clock = clock
        self._started = clock.now()
        self._lock = threading.Lock()
        self.input_tokens = 0
        self.output_tokens = 0
        self.model_calls = 0
        self.retries = 0
        self.cost_usd = 0.0
        self.unpriced: str | None = None  # a model that answered without a price

    @property
    def elapsed_s(self) -> float:
        return self._clock.now() - self._started

    @property
    def deadline(self) -> float | None:
        """The run's deadline on the clock, for per-call deadlines."""
        if self.limits.wall_clock_s is None:
            return None
        return self._started + self.limits.wall_clock_s

    def check(self) -> None:
        """Raise if any limit is already reached (call before starting more work)."""
        limits = self.limits
        if limits.cost_usd is not None and self.unpriced is not None:
            raise ConfigError(
                f"limits.run_cost_budget_usd: {self.unpriced} answered but has no price, so the "
                "run cannot be held to a dollar budget; price it (agentkit capacity --prices) "
                "or remove the limit"
            )
        used = {
            "tokens": (self.input_tokens + self.output_tokens, limits.tokens),
            "cost_usd": (self.cost_usd, limits.cost_usd),
            "model_calls": (self.model_calls, limits.model_calls),
            "retries": (self.retries, limits.retries),
            "wall_clock_s": (self.elapsed_s, limits.wall_clock_s),
        }
        for kind, (value, limit) in used.items():
            if limit is not None and value >= limit:
                raise BudgetExceeded(kind, limit, value)

    def add_call(self) -> None:
        with self._lock:
            self.model_calls += 1

    def add_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def add_usage(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        model: str | None = None,
        region: str | None = None,
        tier: str | None = None,
        cache_tokens: int = 0,
    ) -> None:
        """One call's usage; with a dollar limit, its cost at ``model``'s price."""
        rates = None
        if self.limits.cost_usd is not None and self.limits.price is not None and model:
            rates = self.limits.price(model, region, tier)
        with self._lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            if self.limits.cost_usd is None:
                return
            if rates is None:
                self.unpriced = f"{model or 'a model'}@{region or '?'}"
                return
            per_1k_in, per_1k_out = rates
            self.cost_usd += (
                (input_tokens + cache_tokens) * per_1k_in + output_tokens * per_1k_out
            ) / 1000

    def snapshot(self) -> dict[str, float]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "model_calls": self.model_calls,
            "retries": self.retries,
            "cost_usd": round(self.cost_usd, 6),
            "elapsed_s": round(self.elapsed_s, 3),
        }
