"""Drive a bucket with greedy bursts and idle spells, and measure its worst 60-second window.

Shared by the memory bucket's tests and the Redis bucket's (tests/scaleout): one load, one check.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agentkit.capacity.bucket import Reservation
from agentkit.resilience.admission import Bucket
from agentkit.resilience.clock import FakeClock

WINDOW_S = 60.0


@dataclass(frozen=True)
class Admitted:
    at: float  # when it was reserved
    tokens: float  # what it was finally charged (its settlement)


# (seconds, step in seconds, calls offered a step): cold greedy bursts, idle, bursts again
PHASES = ((90.0, 0.25, 40), (150.0, 1.0, 0), (90.0, 0.5, 60), (60.0, 1.0, 5))


def drive(bucket: Bucket, clock: FakeClock, rng: random.Random) -> list[Admitted]:
    """Offer calls of 50-400 reserved tokens; each settles on 20-100% of its reservation,
    some at once and some a few seconds later (calls in flight)."""
    admitted: list[Admitted] = []
    in_flight: list[tuple[float, Reservation, float]] = []  # (settles at, reservation, used)
    for seconds, step, offers in PHASES:
        for _ in range(round(seconds / step)):
            for settles_at, reservation, used in [f for f in in_flight if f[0] <= clock.now()]:
                bucket.settle(reservation, used)
                in_flight.remove((settles_at, reservation, used))
            for _ in range(offers):
                reservation = bucket.try_reserve(rng.randint(50, 400))
                if reservation is None:
                    continue
                used = round(reservation.tokens * rng.uniform(0.2, 1.0))
                admitted.append(Admitted(reservation.at, used))
                in_flight.append(
                    (clock.now() + rng.choice((0.0, 0.0, 2.0, 7.0)), reservation, used)
                )
            clock.advance(step)
    for _, reservation, used in in_flight:
        bucket.settle(reservation, used)
    return admitted


def worst_window(admitted: list[Admitted]) -> float:
    """The most any window [t, t + 60) holds, t anywhere (the worst starts at an admission)."""
    times = sorted(a.at for a in admitted)
    return max(
        (sum(a.tokens for a in admitted if t <= a.at < t + WINDOW_S) for t in set(times)),
        default=0.0,
    )
