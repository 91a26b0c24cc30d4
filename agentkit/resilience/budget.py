"""A run budget: tokens, model calls, retries and wall clock for one agent run."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from agentkit.errors import BudgetExceeded
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True)
class BudgetLimits:
    tokens: int | None = None  # input + output
    model_calls: int | None = None
    retries: int | None = None
    wall_clock_s: float | None = None


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
        used = {
            "tokens": (self.input_tokens + self.output_tokens, limits.tokens),
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

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens

    def snapshot(self) -> dict[str, float]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "model_calls": self.model_calls,
            "retries": self.retries,
            "elapsed_s": round(self.elapsed_s, 3),
        }
