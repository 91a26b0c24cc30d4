"""A caller's deadline (a run's remaining budget) caps every tool's own timeout.

The registry's clock is a FakeClock: the deadline it computes is exact, so the messages name the
caller's seconds, never a measured duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ToolFailed
from agentkit.resilience.clock import FakeClock
from agentkit.tools.bulkhead import BulkheadStats
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry

from .conftest import Hung, write_tool

PAYLOAD = {"rto_minutes": 5, "region": "eu-west-1"}
ANSWER = {"strategy": "pilot_light"}


@pytest.fixture
def registry(tmp_path: Path, hung: Hung) -> Iterator[ToolRegistry]:
    write_tool(tmp_path, "hung", "1.0.0", timeout_s=30)
    tools = ToolRegistry(
        load_contracts(tmp_path), {"hung": Implementation(hung)}, clock=FakeClock()
    )
    yield tools
    hung.release.set()
    tools.close()


def test_the_callers_deadline_caps_a_local_tools_timeout(
    registry: ToolRegistry, hung: Hung
) -> None:
    with pytest.raises(ToolFailed, match=r"^hung timed out after 0.2 s \(the caller's deadline\)$"):
        registry.call("hung", PAYLOAD, timeout_s=0.2)  # its own timeout_s is 30
    assert hung.entered == 1


def test_without_a_deadline_the_tools_own_timeout_applies(
    registry: ToolRegistry, hung: Hung
) -> None:
    hung.release.set()
    assert registry.call("hung", PAYLOAD).output == ANSWER
    assert registry.call("hung", PAYLOAD, timeout_s=None).output == ANSWER


def test_a_call_whose_deadline_has_passed_never_starts_and_trips_nothing(
    registry: ToolRegistry, hung: Hung
) -> None:
    for left in (0.0, -1.0):
        with pytest.raises(ToolFailed, match=r"^hung was not started: the caller's deadline"):
            registry.call("hung", PAYLOAD, timeout_s=left)
    assert hung.entered == 0
    (status,) = registry.status()
    assert status.breaker == "closed"
    assert status.bulkhead == BulkheadStats(running=0, queued=0, abandoned=0, rejected=0)


def test_a_remote_tool_is_given_the_callers_time_left(tmp_path: Path) -> None:
    write_tool(tmp_path, "far", "1.0.0", timeout_s=30)
    (contract,) = load_contracts(tmp_path).values()
    given: list[float | None] = []

    def remote(payload: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
        given.append(timeout_s)
        return ANSWER

    registry = ToolRegistry({}, {}, clock=FakeClock())
    registry.add_remote(contract, remote)
    registry.call("far", PAYLOAD, timeout_s=2.5)
    registry.call("far", PAYLOAD, timeout_s=45)  # capped at the contract's own 30 s
    registry.call("far", PAYLOAD)
    assert given == [2.5, 30, None]
    with pytest.raises(ToolFailed, match="far was not started"):
        registry.call("far", PAYLOAD, timeout_s=0)
    assert len(given) == 3
    assert registry.breaker_states() == {}  # the remote side has its own breaker
    assert [s.breaker for s in registry.status()] == ["unknown"]
