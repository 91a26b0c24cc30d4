"""Every contract declares what a call changes; a mutating call never runs twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.errors import ConfigError, ToolFailed, ToolInputInvalid
from agentkit.resilience.clock import FakeClock
from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import Implementation, ToolRegistry

from .conftest import RESPONSE, write_tool

CHARGE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "idempotency_key": {"type": "string", "minLength": 1},
    },
    "required": ["amount", "idempotency_key"],
    "additionalProperties": False,
}
ANSWER = {"strategy": "pilot_light"}


class Counting:
    """A mutating handler that counts its executions; it may be told to wait."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.executions = 0
        self.entered = threading.Event()
        self.gate = gate
        self._lock = threading.Lock()

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.executions += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        return ANSWER


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def mutating(root: Path, name: str = "charge", **manifest: Any) -> None:
    write_tool(root, name, "1.0.0", CHARGE, RESPONSE, side_effect="mutating", **manifest)


def test_each_class_loads_and_a_missing_or_unknown_one_is_one_line(tmp_path: Path) -> None:
    write_tool(tmp_path, "look", "1.0.0")
    write_tool(tmp_path, "put", "1.0.0", side_effect="idempotent")
    mutating(tmp_path)
    classes = {c.name: c.side_effect for c in load_contracts(tmp_path).values()}
    assert classes == {"look": "read_only", "put": "idempotent", "charge": "mutating"}
    manifest = tmp_path / "look" / "v1" / "manifest.yaml"
    body = yaml.safe_load(manifest.read_text())
    manifest.write_text(yaml.safe_dump({**body, "side_effect": "sometimes"}))
    with pytest.raises(ConfigError, match="side_effect: Input should be 'read_only'"):
        load_contracts(tmp_path)
    del body["side_effect"]
    manifest.write_text(yaml.safe_dump(body))
    with pytest.raises(ConfigError, match="side_effect is missing; declare what a call changes"):
        load_contracts(tmp_path)


def test_a_mutating_contract_must_require_an_idempotency_key(tmp_path: Path) -> None:
    loose = {**CHARGE, "required": ["amount"]}
    write_tool(tmp_path, "charge", "1.0.0", loose, RESPONSE, side_effect="mutating")
    with pytest.raises(ConfigError, match='a mutating tool must require "idempotency_key"'):
        load_contracts(tmp_path)


def test_a_call_without_the_key_is_refused_at_the_boundary(tmp_path: Path) -> None:
    mutating(tmp_path)
    handler = Counting()
    registry = ToolRegistry(load_contracts(tmp_path), {"charge": Implementation(handler)})
    with pytest.raises(ToolInputInvalid, match="'idempotency_key' is a required property"):
        registry.call("charge", {"amount": 5})
    with pytest.raises(ToolInputInvalid, match="should be non-empty"):
        registry.call("charge", {"amount": 5, "idempotency_key": ""})
    assert handler.executions == 0


def test_a_repeat_returns_the_stored_result_without_running_again(tmp_path: Path) -> None:
    mutating(tmp_path)
    handler = Counting()
    registry = ToolRegistry(load_contracts(tmp_path), {"charge": Implementation(handler)})
    first = registry.call("charge", {"amount": 5, "idempotency_key": "k1"}, call_id="c1")
    retry = registry.call("charge", {"amount": 5, "idempotency_key": "k1"}, call_id="c2")
    same_call = registry.call("charge", {"amount": 5, "idempotency_key": "k9"}, call_id="c1")
    other = registry.call("charge", {"amount": 5, "idempotency_key": "k2"})
    assert handler.executions == 2  # k1 once, k2 once
    assert (first.replayed, retry.replayed, same_call.replayed, other.replayed) == (
        False,
        True,
        True,
        False,
    )
    assert retry.output == first.output == ANSWER


def test_read_only_and_idempotent_calls_are_not_stored(tmp_path: Path) -> None:
    write_tool(tmp_path, "look", "1.0.0")
    handler = Counting()
    registry = ToolRegistry(load_contracts(tmp_path), {"look": Implementation(handler)})
    for _ in range(3):
        registry.call("look", {"rto_minutes": 5, "region": "r"}, call_id="same")
    assert handler.executions == 3


def test_concurrent_repeats_share_one_execution(tmp_path: Path, gate: threading.Event) -> None:
    """A hedge or a second caller with the same key waits for the running call."""
    mutating(tmp_path, timeout_s=30)
    handler = Counting(gate)
    registry = ToolRegistry(load_contracts(tmp_path), {"charge": Implementation(handler)})
    payload = {"amount": 5, "idempotency_key": "k1"}
    try:
        with ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(registry.call, "charge", payload) for _ in range(8)]
            assert handler.entered.wait(10)
            gate.set()
            outputs = [call.result().output for call in calls]
        assert outputs == [ANSWER] * 8
        assert handler.executions == 1
    finally:
        registry.close()


def test_a_call_that_may_have_run_is_never_sent_to_the_fallback(
    tmp_path: Path, gate: threading.Event
) -> None:
    mutating(tmp_path, timeout_s=0.05, fallback="charge_backup")
    mutating(tmp_path, "charge_backup")
    primary, backup = Counting(gate), Counting()
    registry = ToolRegistry(
        load_contracts(tmp_path),
        {"charge": Implementation(primary), "charge_backup": Implementation(backup)},
    )
    payload = {"amount": 5, "idempotency_key": "k1"}
    try:
        with pytest.raises(ToolFailed, match="is mutating and may have run"):
            registry.call("charge", payload)
        assert backup.executions == 0
        with pytest.raises(ToolFailed, match="timed out"):  # still running: not started again
            registry.call("charge", payload)
        assert primary.executions == 1
        gate.set()  # the first execution finishes late; its result is kept under the key
        done = threading.Event()
        while not done.wait(0.01):
            if registry.status()[0].bulkhead.running == 0:
                done.set()
        late = registry.call("charge", payload)
        assert late.replayed
        assert late.output == ANSWER
        assert (primary.executions, backup.executions) == (1, 0)
    finally:
        registry.close()


def test_a_call_that_never_started_may_use_the_fallback(tmp_path: Path) -> None:
    mutating(tmp_path, fallback="charge_backup")
    mutating(tmp_path, "charge_backup")
    backup = Counting()

    def down(payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("refused")

    clock = FakeClock()
    registry = ToolRegistry(
        load_contracts(tmp_path),
        {"charge": Implementation(down), "charge_backup": Implementation(backup)},
        clock=clock,
    )
    for key in ("a", "b", "c"):  # it failed, so it may have run: no fallback, breaker counts
        with pytest.raises(ToolFailed, match="may have run"):
            registry.call("charge", {"amount": 1, "idempotency_key": key})
    result = registry.call("charge", {"amount": 1, "idempotency_key": "d"})  # breaker open
    assert (result.name, result.fallback_from) == ("charge_backup", "charge")
    assert backup.executions == 1
    again = registry.call("charge", {"amount": 1, "idempotency_key": "d"})
    assert again.replayed
    assert again.name == "charge_backup"
    assert backup.executions == 1
