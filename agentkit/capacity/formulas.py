"""The capacity formulas, one pure function each (symbols of domain.md 3.1 and 3.4).

Seed formulas are reproduced verbatim, units problems included, and named ``seed_*``; the rest
is the corrected model. Rates are per minute; durations in seconds; token counts are averages.
"""

from __future__ import annotations

from typing import Literal

from agentkit.capacity.accounting import reservation_tokens, settlement_tokens

MINUTES_PER_DAY = 1440

# --- the seed's formulas (domain.md 3.1), verbatim ---------------------------------------------


def seed_call_duration(max_completion_tokens: float, tokens_per_second: float) -> float:
    """``max_completion_tokens / TPS``: seconds per call, from the maximum output only."""
    return max_completion_tokens / tokens_per_second


def seed_rpm(threads: float, max_completion_tokens: float, tokens_per_second: float) -> float:
    """``threads * (1 + 60 / (max_completion_tokens / TPS))``."""
    return threads * (1 + 60 / seed_call_duration(max_completion_tokens, tokens_per_second))


def seed_input_tokens(
    system: float, user: float, max_completion_tokens: float, recursion_limit: int
) -> float:
    """``S + U + max_completion_tokens * (R - 1) / R``: only the previous output is carried."""
    return system + user + max_completion_tokens * (recursion_limit - 1) / recursion_limit


def seed_input_tokens_full_history(
    system: float, user: float, max_completion_tokens: float, recursion_limit: int
) -> float:
    """The seed's input with every earlier output carried: ``S + U + O * (R - 1) / 2``."""
    return system + user + max_completion_tokens * (recursion_limit - 1) / 2


# --- the corrected model (domain.md 3.4) --------------------------------------------------------


def call_duration(
    time_to_first_token_s: float,
    avg_completion_tokens: float,
    tokens_per_second: float,
    tool_time_s: float,
) -> float:
    """``d = TTFT + O_avg / TPS + t_tool``."""
    return time_to_first_token_s + avg_completion_tokens / tokens_per_second + tool_time_s


def rpm_from_concurrency(concurrent_threads: float, duration_s: float) -> float:
    """``RPM = C * 60 / d``: each busy thread makes one call every d seconds."""
    return concurrent_threads * 60 / duration_s


def rpm_from_arrivals(threads_per_minute: float, calls_per_thread: float) -> float:
    """``RPM = lambda * N`` (Little's law)."""
    return threads_per_minute * calls_per_thread


def carry_tokens(
    avg_completion_tokens: float,
    tool_result_tokens: float,
    calls_per_thread: float,
    mode: Literal["last", "full"],
) -> float:
    """Mean context carried from earlier calls of the thread.

    ``last``: ``(O_avg + T)(N - 1) / N``; ``full``: ``(O_avg + T)(N - 1) / 2``.
    """
    per_step = avg_completion_tokens + tool_result_tokens
    steps = calls_per_thread - 1
    return per_step * steps / (calls_per_thread if mode == "last" else 2)


def input_tokens(system: float, user: float, rag: float, carry: float) -> float:
    """``I = S + U + K + carry``: input tokens per call."""
    return system + user + rag + carry


def raw_tokens_per_call(input_per_call: float, avg_completion_tokens: float) -> float:
    """``I + O_avg``: input plus output, unweighted."""
    return input_per_call + avg_completion_tokens


def settled_tokens_per_call(
    input_per_call: float,
    avg_completion_tokens: float,
    burndown: float,
    cached_prefix_tokens: float = 0.0,
    cache_hit_rate: float = 0.0,
) -> float:
    """``(I - P) + P(1 - h) + b * O_avg``: cache reads excluded, each miss writes the prefix."""
    return settlement_tokens(
        input_per_call - cached_prefix_tokens,
        avg_completion_tokens,
        burndown,
        # P - P*h rather than P*(1 - h): the same value, without the float noise of 1 - 0.9
        cache_write_tokens=cached_prefix_tokens - cached_prefix_tokens * cache_hit_rate,
    )


def admission_tokens_per_call(
    input_per_call: float, max_completion_tokens: float, burndown: float
) -> float:
    """``I + b * O_max``: the worst-case reservation, with no refunds."""
    return reservation_tokens(input_per_call, max_completion_tokens, burndown)


def headroom(peak_factor: float, share: float, tpm: float, quota_tpm: float) -> float:
    """``1 - p * share * TPM / Q_tpm``: the fraction of the quota left at peak."""
    return 1 - peak_factor * share * tpm / quota_tpm


def tokens_per_day(tpm_settled: float, share: float) -> float:
    """``1440 * TPM_settled * share``: a day at the average (not peak) rate."""
    return MINUTES_PER_DAY * tpm_settled * share


def default_tpd(quota_tpm: float) -> float:
    """Without a configured TPD quota: ``TPM x 1440`` (new accounts may have less; BURN)."""
    return quota_tpm * MINUTES_PER_DAY


def measured_hit_rate(cache_read_tokens: float, cache_write_tokens: float) -> float | None:
    """``h`` from measured usage: with one cached prefix, each call reads it (a hit) or writes
    it (a miss), so ``h = reads / (reads + writes)``; None when nothing was cached."""
    cached = cache_read_tokens + cache_write_tokens
    return cache_read_tokens / cached if cached > 0 else None
