"""Hedged MCP calls: a slow read-only call is raced on the fallback; a mutating one never is.

The primary fault server holds its answers while STATE/hold exists (a slow server whose side
effects have happened); the fallback answers at once. Every wait is on a file the server writes
or on the call's own answer, never on a sleep.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentkit.config import McpServerConfig
from agentkit.emulator.mcp_faults import HOLD, executions
from agentkit.tools.mcp_client import OUTCOME, SERVER, McpClient
from agentkit.tools.mcp_hedge import HedgeFailed

from .test_mcp_client import client, one_span, registry_with, stdio, traced

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
    provider, spans = traced()
    # The hedge delay is far longer than the primary takes to fail: no hedge can have started,
    # so the backup's one call is the fallback's.
    late = {**HEDGE, "hedge_after_s": DEADLINE_S}
    with client({"primary": stdio(primary, **late), "backup": stdio(backup)}) as mcp:
        registry = registry_with(mcp, provider)
        result = registry.call("outage", {})  # -32603 on primary, then backup
        assert result.output == {"text": "ok"}
    seen = events(one_span(spans))
    assert not [name for name, _ in seen if name.startswith("agentkit.mcp.hedge")]
    assert (
        "agentkit.tool.fallback",
        {"from": "primary", "to": "backup", "reason": "ToolFailed"},
    ) in seen
    backup_attempts = [
        a for name, a in seen if name == "agentkit.mcp.attempt" and a["server"] == "backup"
    ]
    assert backup_attempts == [{"server": "backup", "attempt": 1, "outcome": "ok"}]


def test_a_hedged_call_ends_at_its_deadline_not_a_hedge_delay_later(
    states: tuple[Path, Path],
) -> None:
    # Both servers hang. The hedge starts hedge_after_s into the call, and gets what is left of
    # the call's deadline, not a fresh timeout: each leg's timeout is in its McpTimedOut.
    primary, backup = states
    (primary / HOLD).unlink()
    budget_s, hedge_after_s = 3.0, 1.0
    slow = {**HEDGE, "hedge_after_s": hedge_after_s}
    servers = {"primary": stdio(primary, **slow), "backup": stdio(backup)}
    with client(servers) as mcp, pytest.raises(HedgeFailed) as caught:
        mcp.call("hang", {"seconds": 600}, timeout_s=budget_s)
    given = dict(
        re.findall(r"hang on mcp server (\w+) timed out after ([0-9.e+-]+) s", str(caught.value))
    )
    assert set(given) == {"primary", "backup"}
    assert float(given["primary"]) <= budget_s
    # The hedge started no earlier than hedge_after_s in, on the same monotonic clock.
    assert float(given["backup"]) <= budget_s - hedge_after_s


def test_hedging_needs_a_fallback() -> None:
    with pytest.raises(ValueError, match="hedge_after_s needs a fallback"):
        McpServerConfig(url="http://127.0.0.1:9/mcp", hedge_after_s=1)
