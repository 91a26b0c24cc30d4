"""Resilience building blocks: clocks, retry policy and budget, circuit breakers, run budgets."""
