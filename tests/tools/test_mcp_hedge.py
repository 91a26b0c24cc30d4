"""Hedged MCP calls: a slow read-only call is raced on the fallback; a mutating one never is.

The primary fault server holds its answers while STATE/hold exists (a slow server whose side
effects have happened); the fallback answers at once. Every wait is on a file the server writes
or on the call's own answer, never on a sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentkit.config import McpServerConfig
from agentkit.emulator.mcp_faults import HOLD, executions
from agentkit.tools.mcp_client import OUTCOME, SERVER, McpClient

from .test_mcp_client import client, registry_with, stdio, traced

DEADLINE_S = 60.0
HEDGE = {"hedge_after_s": 0.05, "fallback": "backup", "timeout_s": 120}


@pytest.fixture
def states(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    primary, backup = tmp_path / "primary", tmp_path / "backup"
    primary.mkdir()
    backup.mkdir()
    (primary / HOLD).touch()
    yield primary, backup
    (primary / HOLD).unlink(missing_ok=True)


def pair(primary: Path, backup: Path) -> McpClient:
    return client({"primary": stdio(primary, **HEDGE), "backup": stdio(backup)})


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


def events(span: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, dict(e.attributes or {})) for e in span.events]


def test_a_slow_read_only_call_is_answered_by_the_hedge(states: tuple[Path, Path]) -> None:
    primary, backup = states
    provider, spans = traced()
    with pair(primary, backup) as mcp:
        registry = registry_with(mcp, provider)
        result = registry.call("echo", {"text": "hedged"})
        assert result.output == {"text": "hedged"}
        (primary / HOLD).unlink()
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert (attributes[SERVER], attributes[OUTCOME]) == ("backup", "ok")
    seen = events(span)
    assert ("agentkit.mcp.hedge", {"from": "primary", "to": "backup"}) in seen
    assert ("agentkit.mcp.abandoned", {"server": "primary"}) in seen
    assert ("agentkit.mcp.attempt", {"server": "backup", "attempt": 1, "outcome": "ok"}) in seen


def test_a_mutating_call_is_never_hedged_and_executes_once(states: tuple[Path, Path]) -> None:
    primary, backup = states
    provider, spans = traced()
    payload = {"idempotency_key": "order-9", "note": "charge"}
    with pair(primary, backup) as mcp, ThreadPoolExecutor(1) as pool:
        registry = registry_with(mcp, provider)
        pending = pool.submit(registry.call, "record", payload)
        until(lambda: executions(primary)["count"] == 1)  # executed; its answer is held
        # a read-only call started later is hedged, so the mutating call's hedge delay has
        # passed too: a hedge would have fired by now
        assert mcp.call("echo", {"text": "later"}) == {"text": "later"}
        assert executions(backup) == {"count": 0, "calls": 0, "keys": {}}
        assert not pending.done()
        (primary / HOLD).unlink()
        assert pending.result(timeout=DEADLINE_S).output == {"recorded": "charge", "execution": 1}
    counted = executions(primary)
    assert (counted["count"], counted["calls"]) == (1, 1)
    assert executions(backup)["calls"] == 0
    record = next(s for s in spans.get_finished_spans() if s.name == "execute_tool record")
    assert dict(record.attributes or {})[SERVER] == "primary"
    assert not [e for e in events(record) if e[0].startswith("agentkit.mcp.hedge")]


def test_a_fast_failure_before_the_hedge_goes_to_the_fallback_as_usual(
    states: tuple[Path, Path],
) -> None:
    primary, backup = states
    (primary / HOLD).unlink()
    (primary / "outage").touch()
    with pair(primary, backup) as mcp:
        assert mcp.call("outage", {}) == {"text": "ok"}  # -32603 on primary, then backup


def test_hedging_needs_a_fallback() -> None:
    with pytest.raises(ValueError, match="hedge_after_s needs a fallback"):
        McpServerConfig(url="http://127.0.0.1:9/mcp", hedge_after_s=1)
