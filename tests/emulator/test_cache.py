"""The emulator's prompt cache: checkpoints written, then read within the TTL, as Bedrock does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.bedrock.tokens import converse_input_tokens, text_tokens
from agentkit.emulator import Emulator
from agentkit.resilience.clock import FakeClock

from .conftest import MODEL, model_path, raw_post

POINT = {"cachePoint": {"type": "default"}}
STABLE = "Tool results and instructions that do not change between turns. " * 70  # ~1,100 tokens
REGION = "us-east-1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[Emulator]:
    emulator = Emulator([REGION, "us-west-2"], clock=clock).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def body(question: str, *, point: bool = True, stable: str = STABLE) -> dict[str, Any]:
    system: list[dict[str, Any]] = [{"text": stable}]
    if point:
        system.append(POINT)
    return {
        "system": [*system, {"text": f"turn: {question}"}],
        "messages": [{"role": "user", "content": [{"text": question}]}],
    }


def usage(emu: Emulator, request: dict[str, Any], model: str = MODEL) -> dict[str, int]:
    status, _, raw = raw_post(emu.endpoints[REGION], model_path(model, "converse"), request)
    assert status == 200, raw
    result: dict[str, int] = json.loads(raw)["usage"]
    return result


def test_first_turn_writes_later_turns_read_and_billed_input_drops(emu: Emulator) -> None:
    stable = text_tokens(STABLE)
    turns = [usage(emu, body(f"question {n}")) for n in range(4)]
    assert turns[0]["cacheWriteInputTokens"] == stable
    assert turns[0]["cacheReadInputTokens"] == 0
    for later in turns[1:]:
        assert later["cacheReadInputTokens"] == stable
        assert later["cacheWriteInputTokens"] == 0
    for n, turn in enumerate(turns):
        total = converse_input_tokens(body(f"question {n}"))
        assert turn["inputTokens"] == total - stable  # only what follows the checkpoint
        assert turn["totalTokens"] == total + turn["outputTokens"]
    records = [c for c in emu.calls() if c.operation == "Converse"]
    assert [c.cache_read_tokens for c in records] == [0, stable, stable, stable]


def test_a_prefix_expires_five_minutes_after_its_last_hit(emu: Emulator, clock: FakeClock) -> None:
    usage(emu, body("a"))
    clock.advance(299)
    assert usage(emu, body("b"))["cacheReadInputTokens"] > 0  # the hit resets the TTL
    clock.advance(299)
    assert usage(emu, body("c"))["cacheReadInputTokens"] > 0
    clock.advance(301)
    expired = usage(emu, body("d"))
    assert expired["cacheReadInputTokens"] == 0
    assert expired["cacheWriteInputTokens"] == text_tokens(STABLE)


def test_a_changed_prefix_another_region_or_model_misses(emu: Emulator) -> None:
    usage(emu, body("a"))
    assert usage(emu, body("b", stable=STABLE + "!"))["cacheReadInputTokens"] == 0
    other_model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert usage(emu, body("c"), model=other_model)["cacheReadInputTokens"] == 0
    _status, _, raw = raw_post(emu.endpoints["us-west-2"], model_path(MODEL, "converse"), body("d"))
    assert json.loads(raw)["usage"]["cacheReadInputTokens"] == 0


def test_without_a_cache_point_below_the_minimum_or_on_an_unlisted_model_nothing_changes(
    emu: Emulator,
) -> None:
    for request, model in [
        (body("a", point=False), MODEL),
        (body("b", stable="short"), MODEL),
        (body("c"), "us.anthropic.claude-3-haiku-20240307-v1:0"),
    ]:
        for _ in range(2):
            seen = usage(emu, request, model)
            assert "cacheReadInputTokens" not in seen
            assert "cacheWriteInputTokens" not in seen
            assert seen["inputTokens"] == converse_input_tokens(request)


def test_nova_ignores_a_cache_point_in_the_tools(emu: Emulator) -> None:
    spec = {"name": "t", "description": STABLE, "inputSchema": {"json": {"type": "object"}}}
    request = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "toolConfig": {"tools": [{"toolSpec": spec}, POINT]},
    }
    nova = "us.amazon.nova-pro-v1:0"
    for _ in range(2):
        assert "cacheReadInputTokens" not in usage(emu, request, nova)
    assert usage(emu, request)["cacheWriteInputTokens"] > 0  # Claude caches tools


def test_more_cache_points_than_the_model_allows_is_a_validation_error(emu: Emulator) -> None:
    request = body("a")
    request["system"] = [{"text": STABLE}, POINT] * 5
    status, _, raw = raw_post(emu.endpoints[REGION], model_path(MODEL, "converse"), request)
    assert status == 400
    assert json.loads(raw)["message"].startswith("A maximum of 4 cachePoint blocks")


def test_two_checkpoints_read_the_longest_cached_prefix(emu: Emulator) -> None:
    second = "Runbooks that change once a day. " * 150
    both = body("a")
    both["system"] = [{"text": STABLE}, POINT, {"text": second}, POINT, {"text": "turn a"}]
    first_only = body("b")  # shares the first checkpoint only
    assert usage(emu, first_only)["cacheWriteInputTokens"] == text_tokens(STABLE)
    seen = usage(emu, both)
    assert seen["cacheReadInputTokens"] == text_tokens(STABLE)
    assert seen["cacheWriteInputTokens"] == text_tokens(second)
