"""Client-side admission control: stop a 429 before Bedrock sends it.

One sliding one-minute window per route (Region and model), sized to the route's tokens-per-minute
quota and, when configured, its requests-per-minute quota: any 60-second window admits at most the
quota (:class:`~agentkit.capacity.bucket.WindowBucket`). Before a call the gateway reserves what
Bedrock will reserve (input + max_tokens x burndown); after it, the reservation settles on actual
usage (input + output x burndown), or on nothing when the call failed. A route without headroom is
skipped, so the call spills to the next route instead of being throttled. When no route has
headroom, callers wait in a bounded queue, interactive work ahead of batch work, until enough of a
window's oldest reservations leave it (or a call settles below its reservation) or their wait runs
out; a full queue is a clear rejection, not a hang.

A bucket is anything with the :class:`Bucket` methods: :class:`WindowBucket` in memory by
default, or a bucket shared by a fleet of workers (``build_admission(bucket=...)``,
:mod:`agentkit.resilience.redis_state`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from agentkit.capacity.accounting import reservation_tokens, settlement_tokens
from agentkit.capacity.bucket import BucketState, Reservation, WindowBucket
from agentkit.capacity.burndown import default_table
from agentkit.config import AdmissionConfig, Route
from agentkit.errors import AgentkitError, ConfigError
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock

Priority = Literal["interactive", "batch"]
_POLL_S = 0.05  # longest single sleep while queued (a settlement can free room at any time)


class Bucket(Protocol):
    """What admission needs of a per-minute quota (:class:`WindowBucket`'s methods)."""

    def try_reserve(self, tokens: float) -> Reservation | None: ...

    def wait_time(self, tokens: float) -> float: ...

    def settle(self, reservation: Reservation, used_tokens: float) -> float: ...

    def state(self) -> BucketState: ...


class BucketFactory(Protocol):
    """Builds a route's bucket (``RedisState.bucket``: shared by a fleet)."""

    def __call__(
        self, route: str, tokens_per_minute: float, *, requests_per_minute: float | None = None
    ) -> Bucket: ...


class AdmissionRejected(AgentkitError):
    """No route had quota headroom and the wait queue was full, or the wait ran out."""


@dataclass(frozen=True)
class Ticket:
    route: str
    reservation: Reservation
    burndown: float


class Admission:
    def __init__(
        self,
        buckets: Mapping[str, Bucket],
        burndown: Mapping[str, float],
        *,
        max_queue: int = 32,
        max_wait_s: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._buckets = dict(buckets)
        self._burndown = dict(burndown)
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[str, int] = {"interactive": 0, "batch": 0}
        self.rejected = 0

    def controls(self, route: str) -> bool:
        return route in self._buckets

    def _cost(self, route: str, input_tokens: int, max_tokens: int) -> float:
        return reservation_tokens(input_tokens, max_tokens, self._burndown.get(route, 1.0))

    def try_admit(self, route: str, input_tokens: int, max_tokens: int) -> Ticket | None:
        """A ticket when ``route`` has headroom now; None when the call should spill."""
        bucket = self._buckets.get(route)
        if bucket is None:
            raise KeyError(route)
        reservation = bucket.try_reserve(self._cost(route, input_tokens, max_tokens))
        if reservation is None:
            return None
        return Ticket(route, reservation, self._burndown.get(route, 1.0))

    def wait_admit(
        self,
        routes: Sequence[str],
        input_tokens: int,
        max_tokens: int,
        priority: Priority = "interactive",
    ) -> Ticket:
        """Wait (bounded) for headroom on any of ``routes``, in their order of preference."""
        with self._lock:
            if sum(self._waiting.values()) >= self.max_queue:
                self.rejected += 1
                raise AdmissionRejected(
                    f"admission queue full ({self.max_queue} waiting): every route is at its "
                    "tokens-per-minute quota; shed load, lower max_tokens or raise the quotas"
                )
            self._waiting[priority] += 1
        try:
            return self._wait(routes, input_tokens, max_tokens, priority)
        finally:
            with self._lock:
                self._waiting[priority] -= 1

    def _wait(
        self, routes: Sequence[str], input_tokens: int, max_tokens: int, priority: str
    ) -> Ticket:
        deadline = self._clock.now() + self.max_wait_s
        while True:
            yield_to_interactive = priority == "batch" and self._waiting["interactive"] > 0
            if not yield_to_interactive:
                for route in routes:
                    ticket = self.try_admit(route, input_tokens, max_tokens)
                    if ticket is not None:
                        return ticket
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                with self._lock:
                    self.rejected += 1
                raise AdmissionRejected(
                    f"no route had quota headroom within {self.max_wait_s:g} s "
                    f"({priority} request of {input_tokens} input + {max_tokens} max tokens)"
                )
            waits = [
                self._buckets[r].wait_time(self._cost(r, input_tokens, max_tokens)) for r in routes
            ]
            if all(math.isinf(w) for w in waits):
                raise AdmissionRejected(
                    f"a request of {input_tokens} input + {max_tokens} max tokens is larger than "
                    "the tokens-per-minute quota of every route: lower max_tokens"
                )
            self._clock.sleep(max(0.001, min(remaining, _POLL_S, *waits)))

    def settle(self, ticket: Ticket, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Charge what the call used (nothing for a call that failed) and refund the rest."""
        used = (
            settlement_tokens(input_tokens, output_tokens, ticket.burndown) if input_tokens else 0.0
        )
        self._buckets[ticket.route].settle(ticket.reservation, used)

    def state(self) -> dict[str, BucketState]:
        return {route: bucket.state() for route, bucket in self._buckets.items()}

    @property
    def waiting(self) -> dict[str, int]:
        return dict(self._waiting)


def build_admission(
    routes: Sequence[Route],
    config: AdmissionConfig,
    clock: Clock = SYSTEM_CLOCK,
    bucket: BucketFactory | None = None,
) -> Admission | None:
    """The admission controller ``resilience.admission`` describes (None when disabled).

    Each route gets a window of its Region's quotas (``tpm``, and ``rpm`` where given) from
    ``bucket``, else in memory; the burndown rate comes from the model ID (the capacity
    calculator's versioned table), 1 when the table does not know the model."""
    if not config.enabled:
        return None
    missing = sorted({r.region for r in routes} - set(config.tpm))
    if missing:
        raise ConfigError(
            f"resilience.admission.tpm: no quota for {', '.join(missing)}; add the tokens-per-"
            "minute quota of each route's Region, or set resilience.admission.enabled: false"
        )
    table = default_table()
    buckets: dict[str, Bucket] = {}
    burndown: dict[str, float] = {}
    for route in routes:
        tpm, rpm = config.tpm[route.region], config.rpm.get(route.region)
        buckets[route.name] = (
            bucket(route.name, tpm, requests_per_minute=rpm)
            if bucket is not None
            else WindowBucket(tpm, requests_per_minute=rpm, clock=clock)
        )
        entry = table.lookup(route.model)
        burndown[route.name] = entry.burndown if entry is not None else 1.0
    return Admission(
        buckets, burndown, max_queue=config.max_queue, max_wait_s=config.max_wait_s, clock=clock
    )
