"""Each tool is its own containment domain: a hung tool exhausts only its own share."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import CircuitOpen, ToolBusy, ToolFailed
from agentkit.tools.bulkhead import Bulkhead, BulkheadPolicy, BulkheadStats, cancelled
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry

from .conftest import Hung, write_tool

PAYLOAD = {"rto_minutes": 5, "region": "eu-west-1"}
ANSWER = {"strategy": "pilot_light"}


def test_a_hung_tool_never_times_out_a_healthy_one(tmp_path: Path, hung: Hung) -> None:
    write_tool(tmp_path, "hung", "1.0.0", timeout_s=0.2)
    # Ten times the 0.5 s, so a loaded machine cannot fail it; with a shared pool the
    # quick calls would still wait on hung's handlers, which return only at teardown.
    write_tool(tmp_path, "quick", "1.0.0", timeout_s=5)
    quick_calls = 0

    def quick(payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal quick_calls
        quick_calls += 1
        return ANSWER

    registry = ToolRegistry(
        load_contracts(tmp_path), {"hung": Implementation(hung), "quick": Implementation(quick)}
    )
    try:
        with ThreadPoolExecutor(40) as pool:
            hung_calls = [pool.submit(registry.call, "hung", PAYLOAD) for _ in range(20)]
            assert hung.wait_entered(4)  # the hung tool holds all of its workers
            during = [pool.submit(registry.call, "quick", PAYLOAD) for _ in range(20)]
            answers = [future.result().output for future in during]
            hung_errors = [future.exception() for future in hung_calls]
        after = [registry.call("quick", PAYLOAD).output for _ in range(10)]
        assert answers == [ANSWER] * 20
        assert after == [ANSWER] * 10
        assert quick_calls == 30
        # Each hung call times out, or finds hung's breaker open once 3 have (how many depends on
        # when the pool's threads start); either way no call of hung's waits on quick's share.
        timed_out = sum(
            isinstance(e, ToolFailed) and "timed out after 0.2 s" in str(e) for e in hung_errors
        )
        refused = sum(isinstance(e, CircuitOpen) for e in hung_errors)
        assert timed_out + refused == 20
        assert timed_out >= 3
        status = {s.name: s for s in registry.status()}
        assert status["quick"].breaker == "closed"  # no timeout of hung's is counted on quick
        assert status["hung"].breaker == "open"
        assert status["hung"].bulkhead.running == 4  # its own share, still held
        assert status["hung"].bulkhead.abandoned == 4
        assert status["hung"].bulkhead.queued == 0  # the 16 queued calls were withdrawn
        assert hung.entered == 4  # ...and never ran
    finally:
        hung.release.set()
        registry.close()


def test_a_full_bulkhead_refuses_at_once_without_tripping_the_breaker(
    tmp_path: Path, hung: Hung
) -> None:
    write_tool(tmp_path, "hung", "1.0.0", timeout_s=30, max_concurrent=1, max_queue=0)
    registry = ToolRegistry(load_contracts(tmp_path), {"hung": Implementation(hung)})
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(registry.call, "hung", PAYLOAD)
            while registry.status()[0].bulkhead.running != 1:
                threading.Event().wait(0.005)
            for _ in range(5):
                with pytest.raises(ToolBusy, match="at its concurrency limit"):
                    registry.call("hung", PAYLOAD)
            (status,) = registry.status()
            assert status.breaker == "closed"
            assert status.bulkhead.rejected == 5
            hung.release.set()
            assert first.result().output == ANSWER
    finally:
        registry.close()


def test_the_registry_overrides_a_manifest_limit(tmp_path: Path, hung: Hung) -> None:
    write_tool(tmp_path, "hung", "1.0.0", timeout_s=30, max_concurrent=8)
    contracts = load_contracts(tmp_path)
    assert contracts["hung@1"].bulkhead == BulkheadPolicy(max_concurrent=8, max_queue=16)
    registry = ToolRegistry(
        contracts,
        {"hung": Implementation(hung)},
        bulkheads={"hung": BulkheadPolicy(max_concurrent=1, max_queue=0)},
    )
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(registry.call, "hung", PAYLOAD)
            while registry.status()[0].bulkhead.running != 1:
                threading.Event().wait(0.005)
            with pytest.raises(ToolBusy):
                registry.call("hung", PAYLOAD)
            hung.release.set()
            first.result()
    finally:
        registry.close()


def test_a_timed_out_handler_is_asked_to_stop_and_its_slot_comes_back() -> None:
    bulkhead = Bulkhead("polite", BulkheadPolicy(max_concurrent=1, max_queue=0))
    started, stopped = threading.Event(), threading.Event()

    def polite(argument: int) -> int:
        started.set()
        if cancelled().wait(10):
            stopped.set()
        return argument

    call = bulkhead.submit(polite, 1)
    assert started.wait(10)
    assert bulkhead.give_up(call) is False  # already running: cannot be withdrawn
    assert bulkhead.stats().abandoned == 1
    assert stopped.wait(10)  # the handler honoured the cancel signal
    call.future.result(10)
    assert bulkhead.submit(lambda x: x * 2, 21).future.result(10) == 42
    assert bulkhead.stats().abandoned == 0
    bulkhead.close()
    with pytest.raises(ToolBusy, match="closed"):
        bulkhead.submit(polite, 1)


def test_a_queued_call_that_is_given_up_never_runs() -> None:
    bulkhead = Bulkhead("one", BulkheadPolicy(max_concurrent=1, max_queue=1))
    release = threading.Event()
    ran: list[int] = []
    blocker = bulkhead.submit(lambda x: release.wait(10), 0)
    queued = bulkhead.submit(ran.append, 1)
    assert bulkhead.give_up(queued) is True
    release.set()
    blocker.future.result(10)
    assert bulkhead.submit(ran.append, 2).future.result(10) is None
    assert ran == [2]
    assert cancelled().is_set() is False  # outside a worker: never set


def test_callers_sharing_a_queued_call_give_its_slot_back_once() -> None:
    """Callers of a mutating tool with one idempotency key wait on one call (the registry's
    in-flight table): when all of them time out while it is queued, each gives up, and the call's
    slot comes back once, not once per caller."""
    bulkhead = Bulkhead("one", BulkheadPolicy(max_concurrent=1, max_queue=1))
    started, release = threading.Event(), threading.Event()

    def blocking(argument: int) -> int:
        started.set()
        release.wait(30)
        return argument

    try:
        blocker = bulkhead.submit(blocking, 0)
        assert started.wait(10)  # the only worker is busy
        shared = bulkhead.submit(lambda x: x, 1)  # queued; three callers wait on it
        assert [bulkhead.give_up(shared) for _ in range(3)] == [True, True, True]
        assert bulkhead.stats() == BulkheadStats(running=1, queued=0, abandoned=0, rejected=0)
        queued = bulkhead.submit(lambda x: x, 2)  # the one queue place is free again...
        with pytest.raises(ToolBusy, match="at its concurrency limit"):
            bulkhead.submit(lambda x: x, 3)  # ...and only that one
        release.set()
        assert (blocker.future.result(10), queued.future.result(10)) == (0, 2)
        assert shared.future.cancelled()  # withdrawn: it never ran
    finally:
        release.set()
        bulkhead.close()
