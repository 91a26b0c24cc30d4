"""A client-side tokens-per-minute bucket with reserve/settle semantics.

One bucket per (Region, model) mirrors how Bedrock admits a request: it reserves the worst case
(:func:`~agentkit.capacity.accounting.reservation_tokens`) before the call and settles on the real
usage (:func:`~agentkit.capacity.accounting.settlement_tokens`) after it, refunding the difference.
The bucket refills continuously at ``tokens_per_minute / 60`` per second up to ``capacity``.

Time is injected (:class:`~agentkit.resilience.clock.Clock`), so tests never sleep. The bucket
never blocks: :meth:`TokenBucket.try_reserve` answers now, :meth:`TokenBucket.wait_time` says how
long a caller (the gateway's bounded wait queue) would have to wait.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass

from agentkit.capacity.accounting import refund_tokens
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True)
class Reservation:
    """Tokens held for one call until :meth:`TokenBucket.settle`."""

    id: int
    tokens: float
    at: float  # clock time of the reservation


@dataclass(frozen=True)
class BucketState:
    """A snapshot for telemetry and ``agentkit doctor``."""

    level: float  # tokens available now (negative: in debt after an under-reservation)
    capacity: float
    tokens_per_minute: float
    outstanding: float  # reserved and not yet settled
    reservations: int


class TokenBucket:
    """Quota tokens for one (Region, model); thread-safe, clock-injected, never sleeps."""

    def __init__(
        self,
        tokens_per_minute: float,
        *,
        capacity: float | None = None,
        clock: Clock = SYSTEM_CLOCK,
        start_full: bool = True,
    ) -> None:
        if not tokens_per_minute > 0:
            raise ValueError(f"tokens_per_minute must be positive (got {tokens_per_minute:g})")
        self.tokens_per_minute = float(tokens_per_minute)
        self.capacity = float(tokens_per_minute if capacity is None else capacity)
        if not self.capacity > 0:
            raise ValueError(f"capacity must be positive (got {self.capacity:g})")
        self._clock = clock
        self._level = self.capacity if start_full else 0.0
        self._updated = clock.now()
        self._outstanding: dict[int, float] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def rate_per_second(self) -> float:
        return self.tokens_per_minute / 60.0

    def available(self) -> float:
        with self._lock:
            return self._refill()

    def try_reserve(self, tokens: float) -> Reservation | None:
        """Hold ``tokens`` now, or return None (nothing held) when the bucket cannot cover them."""
        _check_tokens(tokens)
        with self._lock:
            if self._refill() < tokens:
                return None
            self._level -= tokens
            reservation = Reservation(next(self._ids), float(tokens), self._updated)
            self._outstanding[reservation.id] = reservation.tokens
            return reservation

    def wait_time(self, tokens: float) -> float:
        """Seconds until :meth:`try_reserve` of ``tokens`` would succeed if nothing else happened;
        ``inf`` when ``tokens`` exceeds the capacity (it can never be admitted)."""
        _check_tokens(tokens)
        if tokens > self.capacity:
            return math.inf
        with self._lock:
            missing = tokens - self._refill()
        return max(0.0, missing) / self.rate_per_second

    def settle(self, reservation: Reservation, used_tokens: float) -> float:
        """Charge the real usage against the reservation and return the refund (negative when the
        call cost more than was reserved: the bucket goes into debt). Settle each reservation
        exactly once; a call that failed before Bedrock counted anything settles with 0."""
        _check_tokens(used_tokens)
        with self._lock:
            reserved = self._outstanding.pop(reservation.id, None)
            if reserved is None:
                raise ValueError(f"reservation {reservation.id} is unknown or already settled")
            self._refill()
            refund = refund_tokens(reserved, used_tokens)
            self._level = min(self.capacity, self._level + refund)
            return refund

    def state(self) -> BucketState:
        with self._lock:
            level = self._refill()
            return BucketState(
                level=level,
                capacity=self.capacity,
                tokens_per_minute=self.tokens_per_minute,
                outstanding=sum(self._outstanding.values()),
                reservations=len(self._outstanding),
            )

    def _refill(self) -> float:
        now = self._clock.now()
        elapsed = max(0.0, now - self._updated)
        self._level = min(self.capacity, self._level + elapsed * self.rate_per_second)
        self._updated = now
        return self._level


def _check_tokens(tokens: float) -> None:
    if tokens < 0 or math.isnan(tokens):
        raise ValueError(f"token counts must not be negative (got {tokens:g})")
