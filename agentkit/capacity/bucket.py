"""Client-side quota accounting with reserve/settle semantics: a sliding window and a token bucket.

A call reserves the worst case (:func:`~agentkit.capacity.accounting.reservation_tokens`) before it
and settles on the real usage (:func:`~agentkit.capacity.accounting.settlement_tokens`) after it.

- :class:`WindowBucket` is what admission control uses (one per route, the same algorithm as the
  fleet's Redis bucket in :mod:`agentkit.resilience.redis_state`): a sliding one-minute log of
  reservations. A request is admitted only when the reservations made in the last 60 seconds, each
  counted at its settled amount once settled, plus this one stay within the tokens-per-minute
  quota (and, when configured, the requests within the requests-per-minute quota). So any
  60-second window ``[t, t + 60)`` admits at most the quota, the first minute after a cold start
  or an idle spell included, as long as no call uses more than it reserved.
- :class:`TokenBucket` holds up to ``capacity`` and refills continuously at ``tokens_per_minute /
  60`` per second: the emulator's model of Bedrock's own throttling. It is **not** a per-minute
  limit: a full bucket plus a minute's refill lets one minute through up to twice the quota.

Time is injected (:class:`~agentkit.resilience.clock.Clock`), so tests never sleep. Neither blocks:
``try_reserve`` answers now, ``wait_time`` says how long a caller (the gateway's bounded wait
queue) would have to wait.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import deque
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
    outstanding: float  # reserved and not yet settled (a window: reserved in the last minute)
    reservations: int
    requests: int = 0  # a window: requests admitted in the last minute
    requests_per_minute: float | None = None  # a window's request quota (None: tokens only)


class TokenBucket:
    """Quota tokens for one (Region, model) as a refilling bucket (the emulator's Bedrock);
    thread-safe, clock-injected, never sleeps. Admission uses :class:`WindowBucket`."""

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


WINDOW_S = 60.0  # the quota's minute


@dataclass(slots=True)
class _Entry:
    """One reservation in a window: ``tokens`` is the reservation until settled, then the usage."""

    id: int
    at: float
    tokens: float
    reserved: float
    pending: bool = True
    in_window: bool = True


class WindowBucket:
    """Tokens (and optionally requests) per minute for one route, as a sliding window log;
    thread-safe, clock-injected, never sleeps.

    At time ``now`` the window holds the reservations made in ``(now - 60, now]``, each at its
    reserved amount until it settles and at its actual usage after. :meth:`try_reserve` admits
    ``tokens`` only when the window's tokens plus ``tokens`` stay within ``tokens_per_minute``
    (and its requests plus one within ``requests_per_minute``, when set). Hence any 60-second
    window ``[t, t + 60)`` admits at most the quota: at the last admission in it, every earlier
    one in it was counted, and settling only lowers an amount unless a call used more than it
    reserved (then the excess is charged, and later admissions wait for it to leave the window).
    A clock that goes back is ignored (time never runs backwards in the log).
    """

    def __init__(
        self,
        tokens_per_minute: float,
        *,
        requests_per_minute: float | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        _check_quota(tokens_per_minute, requests_per_minute)
        self.tokens_per_minute = float(tokens_per_minute)
        self.requests_per_minute = (
            None if requests_per_minute is None else float(requests_per_minute)
        )
        self.capacity = self.tokens_per_minute  # the most one window holds
        self._clock = clock
        self._now = clock.now()
        self._log: deque[_Entry] = deque()
        self._tickets: dict[int, _Entry] = {}  # unsettled, in the window or not
        self._sum = 0.0  # tokens in the window
        self._outstanding = 0.0  # reserved in the window, not yet settled
        self._pending = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def rate_per_second(self) -> float:
        return self.tokens_per_minute / WINDOW_S

    def available(self) -> float:
        """Tokens the window can still admit now (negative after an under-reservation)."""
        with self._lock:
            self._expire()
            return self.tokens_per_minute - self._sum

    def try_reserve(self, tokens: float) -> Reservation | None:
        """Hold ``tokens`` now, or return None (nothing held) when the window cannot take them."""
        _check_tokens(tokens)
        with self._lock:
            now = self._expire()
            if not self._fits(tokens):
                return None
            entry = _Entry(next(self._ids), now, float(tokens), float(tokens))
            self._log.append(entry)
            self._tickets[entry.id] = entry
            self._sum += entry.tokens
            self._outstanding += entry.tokens
            self._pending += 1
            return Reservation(entry.id, entry.tokens, now)

    def wait_time(self, tokens: float) -> float:
        """Seconds until :meth:`try_reserve` of ``tokens`` would succeed if nothing else happened
        (no settlement either): when enough of the oldest reservations have left the window;
        ``inf`` when ``tokens`` exceeds the quota (it can never be admitted)."""
        _check_tokens(tokens)
        if tokens > self.tokens_per_minute or (self.requests_per_minute or 1) < 1:
            return math.inf
        with self._lock:
            now = self._expire()
            need_tokens = self._sum + tokens - self.tokens_per_minute
            need_requests = self._requests_over()
            if need_tokens <= 0 and need_requests <= 0:
                return 0.0
            freed, slack = 0.0, 1e-9 * self.tokens_per_minute  # slack: float drift of the sum
            for n, entry in enumerate(self._log, start=1):
                freed += entry.tokens
                if freed >= need_tokens - slack and n >= need_requests:
                    return max(0.0, entry.at + WINDOW_S - now)
        return math.inf  # unreachable while tokens <= the quota

    def settle(self, reservation: Reservation, used_tokens: float) -> float:
        """Charge the real usage in place of the reservation and return the refund (negative when
        the call cost more than was reserved). The refund frees room in the window at once; a
        reservation already out of the window changes nothing. Settle each reservation exactly
        once; a call that failed before Bedrock counted anything settles with 0 (its request
        still counts towards ``requests_per_minute``)."""
        _check_tokens(used_tokens)
        with self._lock:
            entry = self._tickets.pop(reservation.id, None)
            if entry is None:
                raise ValueError(f"reservation {reservation.id} is unknown or already settled")
            self._expire()
            if entry.in_window:
                self._sum += used_tokens - entry.tokens
                self._outstanding -= entry.reserved
                self._pending -= 1
                entry.tokens, entry.pending = float(used_tokens), False
            return refund_tokens(entry.reserved, used_tokens)

    def state(self) -> BucketState:
        with self._lock:
            self._expire()
            return BucketState(
                level=self.tokens_per_minute - self._sum,
                capacity=self.capacity,
                tokens_per_minute=self.tokens_per_minute,
                outstanding=self._outstanding,
                reservations=self._pending,
                requests=len(self._log),
                requests_per_minute=self.requests_per_minute,
            )

    def _fits(self, tokens: float) -> bool:
        return self._sum + tokens <= self.tokens_per_minute and self._requests_over() <= 0

    def _requests_over(self) -> float:
        """Requests to drop from the window before one more fits (0 or less: it fits)."""
        if self.requests_per_minute is None:
            return 0.0
        return len(self._log) + 1 - self.requests_per_minute

    def _expire(self) -> float:
        """Drop the reservations made at or before ``now - 60``; return ``now``."""
        now = self._now = max(self._now, self._clock.now())
        while self._log and self._log[0].at <= now - WINDOW_S:
            entry = self._log.popleft()
            entry.in_window = False
            self._sum -= entry.tokens
            if entry.pending:
                self._outstanding -= entry.reserved
                self._pending -= 1
        if not self._log:  # no float drift survives an empty window
            self._sum = self._outstanding = 0.0
        return now


def _check_quota(tokens_per_minute: float, requests_per_minute: float | None) -> None:
    if not tokens_per_minute > 0:
        raise ValueError(f"tokens_per_minute must be positive (got {tokens_per_minute:g})")
    if requests_per_minute is not None and not requests_per_minute > 0:
        raise ValueError(f"requests_per_minute must be positive (got {requests_per_minute:g})")


def _check_tokens(tokens: float) -> None:
    if tokens < 0 or math.isnan(tokens):
        raise ValueError(f"token counts must not be negative (got {tokens:g})")
