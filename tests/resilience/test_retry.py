from __future__ import annotations

import random

import pytest

from agentkit.errors import ModelRejected, Throttled, Unavailable
from agentkit.resilience.clock import FakeClock
from agentkit.resilience.retry import RetryBudget, RetryPolicy, retrying


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.2, max_delay_s=1.0)
    rng = random.Random(3)
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (5, 1.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(500)]
        assert max(delays) <= ceiling
        assert min(delays) < ceiling * 0.1  # full jitter reaches down to zero
        assert max(delays) > ceiling * 0.9


def test_retry_budget_allows_a_share_of_calls() -> None:
    budget = RetryBudget(ratio=0.1, initial=0, cap=100)
    for _ in range(50):
        budget.on_call()
    granted = sum(budget.try_spend() for _ in range(20))
    assert granted == 5
    assert budget.denied == 15


def run(
    policy: RetryPolicy,
    failures: list[Exception],
    budget: RetryBudget | None = None,
    deadline: float = 1e9,
) -> tuple[int, FakeClock]:
    clock = FakeClock(start=0.0)
    calls = 0

    def attempt() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    for tries in retrying(
        policy,
        clock=clock,
        deadline=deadline,
        budget=budget or RetryBudget(1.0),
        rng=random.Random(1),
    ):
        with tries:
            attempt()
    return calls, clock


def test_only_retryable_errors_are_retried() -> None:
    with pytest.raises(ModelRejected):
        run(RetryPolicy(max_attempts=5), [ModelRejected("bad")])
    calls, clock = run(RetryPolicy(max_attempts=5), [Unavailable("x"), Unavailable("y")])
    assert calls == 3
    assert len(clock.slept) == 2


def test_attempts_are_bounded() -> None:
    with pytest.raises(Unavailable):
        run(RetryPolicy(max_attempts=3), [Unavailable(str(i)) for i in range(10)])


def test_retry_after_wins_when_longer_than_the_backoff_but_is_capped() -> None:
    _, clock = run(RetryPolicy(max_attempts=3, max_delay_s=5), [Throttled("t", retry_after_s=3.0)])
    assert clock.slept == [3.0]
    _, clock = run(RetryPolicy(max_attempts=3, max_delay_s=5), [Throttled("t", retry_after_s=60.0)])
    assert clock.slept == [5.0]


def test_deadline_stops_before_a_sleep_that_would_pass_it() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_s=0.001, max_delay_s=1.0)
    failures: list[Exception] = [Throttled("t", retry_after_s=1.0) for _ in range(10)]
    with pytest.raises(Throttled):
        run(policy, failures, deadline=2.5)
    assert len(failures) == 7  # tried at t=0, 1, 2; a sleep to t=3 would pass the deadline


def test_exhausted_budget_stops_retries_and_spends_nothing_on_the_last_attempt() -> None:
    budget = RetryBudget(ratio=0.0, initial=1)
    with pytest.raises(Unavailable):
        run(RetryPolicy(max_attempts=2), [Unavailable("a"), Unavailable("b")], budget=budget)
    assert budget.balance == 0
    assert budget.denied == 0
