"""Reservation and settlement: how Bedrock charges one request against TPM."""

from __future__ import annotations

import pytest

from agentkit.capacity.accounting import refund_tokens, reservation_tokens, settlement_tokens


def test_reservation_is_input_plus_max_tokens_times_burndown() -> None:
    assert reservation_tokens(3_400, 1_000) == 4_400
    assert reservation_tokens(3_400, 1_000, 5) == 8_400


def test_settlement_counts_cache_writes_and_weighted_output_not_cache_reads() -> None:
    assert settlement_tokens(1_400, 1_000, 5) == 6_400
    assert settlement_tokens(1_400, 1_000, 5, cache_write_tokens=200) == 6_600


def test_refund_is_the_difference() -> None:
    reserved = reservation_tokens(3_400, 1_000, 5)
    assert refund_tokens(reserved, settlement_tokens(3_400, 200, 5)) == 4_000
    assert refund_tokens(100, 150) == -50


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: reservation_tokens(-1, 10), "input_tokens must not be negative"),
        (lambda: reservation_tokens(1, 10, 0.5), "burndown must be at least 1"),
        (lambda: settlement_tokens(1, -2), "output_tokens must not be negative"),
        (lambda: settlement_tokens(1, 2, cache_write_tokens=-3), "cache_write_tokens must not"),
    ],
)
def test_bad_counts_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
