"""How Bedrock charges one request against a Region's tokens-per-minute quota.

Pure functions shared by the capacity calculator (per-call figures times RPM) and the gateway's
admission control (a token bucket per Region and model). Sources: domain.md section 3.2, item 6.

- **Admission** reserves ``input + max_tokens`` before the call; output is weighted by the model's
  burndown rate (whether burndown applies to the reservation is not documented: we assume it does,
  the cautious reading).
- **Settlement** charges ``input + cache writes + output x burndown`` after it: on-demand, cache
  reads do not count toward the quota.
"""

from __future__ import annotations


def reservation_tokens(input_tokens: float, max_tokens: float, burndown: float = 1.0) -> float:
    """Tokens reserved at admission: total input (cached or not) plus ``max_tokens x burndown``."""
    _check_non_negative(input_tokens=input_tokens, max_tokens=max_tokens)
    _check_burndown(burndown)
    return input_tokens + max_tokens * burndown


def settlement_tokens(
    input_tokens: float,
    output_tokens: float,
    burndown: float = 1.0,
    *,
    cache_write_tokens: float = 0.0,
) -> float:
    """Tokens finally charged: uncached input plus cache writes plus ``output x burndown``.

    ``input_tokens`` is Bedrock's ``inputTokens`` (which excludes cache reads and writes); cache
    reads are free against the on-demand quota.
    """
    _check_non_negative(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_write_tokens=cache_write_tokens,
    )
    _check_burndown(burndown)
    return input_tokens + cache_write_tokens + output_tokens * burndown


def refund_tokens(reserved: float, settled: float) -> float:
    """What goes back to the bucket after settlement (negative: the call cost more)."""
    return reserved - settled


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative (got {value:g})")


def _check_burndown(burndown: float) -> None:
    if burndown < 1:
        raise ValueError(f"burndown must be at least 1 (got {burndown:g})")
