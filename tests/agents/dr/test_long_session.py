"""A long conversation stays within its context budget, and what turn 1 said still decides."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.agents.dr.workflow import HISTORY_CHARS, recent
from agentkit.bedrock.sizing import route_window
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator

TURNS = 200
# The extract prompt without history, a 600-character question and the compose prompt's tool
# results stay far below this; the history budget adds at most HISTORY_CHARS / 4 tokens.
BOUND_TOKENS = 12_000 + HISTORY_CHARS // 4


def test_recent_keeps_the_newest_questions_within_the_budget() -> None:
    history = [f"q{i} " + "x" * 3000 for i in range(20)]
    kept = recent(history)
    assert kept == history[-len(kept) :]
    assert sum(len(q) for q in kept) <= HISTORY_CHARS
    assert len(kept) < len(history)


@pytest.mark.emulator(regions=["us-east-1"])
def test_a_200_turn_session_never_outgrows_its_budget(bedrock_emulator: Emulator) -> None:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "eu",
                "endpoints": {"eu-west-1": bedrock_emulator.endpoints["us-east-1"]},
                "routes": [{"model": "eu.amazon.nova-pro-v1:0", "region": "eu-west-1"}],
            },
            "limits": {"run_token_budget": 1_000_000},
        }
    )
    runtime = build_advisor(config, checkpointer=InMemorySaver())
    runtime_route = config.models.routes[0]
    first = ask(runtime, "orders-api on DynamoDB in eu-west-1, data must stay in the EU", "long")
    assert first.source == "question"
    filler = "We also run a nightly batch job and a reporting replica. " * 10
    for turn in range(1, TURNS):
        last = ask(runtime, f"turn {turn}: {filler} RTO {15 + turn % 7} min, RPO 1 hour", "long")
    calls = bedrock_emulator.calls()
    assert calls
    assert {c.status for c in calls} == {200}  # the emulator refuses what exceeds the window
    window = route_window(runtime_route)
    assert window is not None
    for call in calls:  # every input token, cached or not, and the output it may take
        sent = call.input_tokens + call.cache_read_tokens + call.cache_write_tokens
        assert sent <= BOUND_TOKENS
        assert sent + (call.max_tokens or 0) <= window
    request = last.tool_calls[0]["input"]
    assert request["residency"] == ["eu"]  # turn 1 still drives the decision at turn 200
    assert request["primary_region"] == "eu-west-1"
    assert set(last.tool_calls[0]["output"]["target_regions"]) <= {
        "eu-central-1",
        "eu-west-3",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
    }
