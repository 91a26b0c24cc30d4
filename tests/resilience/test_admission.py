from __future__ import annotations

import threading

import pytest

from agentkit.capacity.bucket import TokenBucket
from agentkit.config import AdmissionConfig, Route
from agentkit.errors import ConfigError
from agentkit.resilience.admission import Admission, AdmissionRejected, build_admission
from agentkit.resilience.clock import FakeClock


def admission(clock: FakeClock, tpm: float = 600, **options: object) -> Admission:
    buckets = {"a": TokenBucket(tpm, clock=clock), "b": TokenBucket(tpm, clock=clock)}
    return Admission(buckets, {"a": 5.0, "b": 1.0}, clock=clock, **options)  # type: ignore[arg-type]


def test_reserves_input_plus_max_tokens_times_burndown_and_settles_on_usage() -> None:
    clock = FakeClock()
    adm = admission(clock)
    ticket = adm.try_admit("a", input_tokens=50, max_tokens=100)  # 50 + 100 x 5 = 550 of 600
    assert ticket is not None
    assert adm.try_admit("a", input_tokens=50, max_tokens=100) is None  # spill
    adm.settle(ticket, input_tokens=50, output_tokens=10)  # used 50 + 10 x 5 = 100
    assert adm.state()["a"].level == pytest.approx(500)


def test_a_failed_call_refunds_everything() -> None:
    clock = FakeClock()
    adm = admission(clock)
    ticket = adm.try_admit("b", input_tokens=100, max_tokens=100)
    assert ticket is not None
    adm.settle(ticket)
    assert adm.state()["b"].level == pytest.approx(600)


def test_queued_callers_get_the_first_route_with_headroom() -> None:
    clock = FakeClock()
    adm = admission(clock, tpm=60, max_wait_s=120)  # refills one token a second
    assert adm.try_admit("b", 30, 30) is not None
    ticket = adm.wait_admit(["b"], 30, 30)
    assert ticket.route == "b"
    assert 59 <= sum(clock.slept) <= 61  # waited for 60 tokens to refill


def test_wait_runs_out_and_full_queue_rejects() -> None:
    clock = FakeClock()
    adm = admission(clock, tpm=60, max_wait_s=2.0)
    assert adm.try_admit("b", 30, 30) is not None
    with pytest.raises(AdmissionRejected, match=r"within 2 s"):
        adm.wait_admit(["b"], 30, 30)
    full = admission(clock, tpm=60, max_queue=0)
    with pytest.raises(AdmissionRejected, match="queue full"):
        full.wait_admit(["b"], 30, 30)
    assert full.rejected == 1


def test_batch_waits_while_interactive_work_is_queued() -> None:
    clock = FakeClock()
    adm = admission(clock, tpm=60, max_wait_s=0.5)
    adm._waiting["interactive"] = 1  # an interactive caller is queued
    with pytest.raises(AdmissionRejected, match="batch request"):
        adm.wait_admit(["b"], 1, 1, priority="batch")  # headroom exists, but interactive goes first
    adm._waiting["interactive"] = 0
    assert adm.wait_admit(["b"], 1, 1, priority="batch").route == "b"


def test_build_admission_needs_a_quota_per_route_region() -> None:
    routes = [
        Route(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", region="us-east-1"),
        Route(model="us.amazon.nova-pro-v1:0", region="us-west-2"),
    ]
    assert build_admission(routes, AdmissionConfig()) is None
    with pytest.raises(ConfigError, match="no quota for us-west-2"):
        build_admission(routes, AdmissionConfig(enabled=True, tpm={"us-east-1": 1000}))
    built = build_admission(
        routes, AdmissionConfig(enabled=True, tpm={"us-east-1": 1000, "us-west-2": 10})
    )
    assert built is not None
    ticket = built.try_admit(routes[0].name, 0, 100)
    assert ticket is not None
    assert ticket.burndown == 5.0
    assert built.try_admit(routes[1].name, 0, 10) is not None  # Nova: 1x


def test_concurrent_reservations_never_oversubscribe() -> None:
    clock = FakeClock()
    adm = admission(clock, tpm=1000)
    granted: list[object] = []

    def grab() -> None:
        for _ in range(50):
            ticket = adm.try_admit("b", 10, 0)
            if ticket is not None:
                granted.append(ticket)

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 100  # exactly 1000 / 10


def test_a_request_larger_than_every_quota_is_rejected_at_once() -> None:
    clock = FakeClock()
    adm = admission(clock, tpm=100, max_wait_s=60)
    with pytest.raises(AdmissionRejected, match="larger than the tokens-per-minute quota"):
        adm.wait_admit(["a", "b"], 50, 100)
    assert clock.slept == []
