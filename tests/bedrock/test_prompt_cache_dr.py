"""The DR advisor's prompts put their stable part first: repeated turns read it from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.agents.dr.workflow import cacheable_system
from agentkit.config import load_config
from agentkit.emulator import Emulator
from agentkit.prompts import load_prompt

QUESTION = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"


def write_config(tmp_path: Path, emu: Emulator, model: str) -> Path:
    endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        f"models:\n  residency: us\n  routes:\n    - {{model: {model}, region: us-east-1}}\n"
        f"  endpoints: {{{endpoints}}}\n"
    )
    return path


@pytest.mark.emulator(regions=["us-east-1"])
def test_repeated_turns_read_the_compose_prefix_and_bill_fewer_input_tokens(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    runtime = build_advisor(load_config(write_config(tmp_path, bedrock_emulator, model)))
    answers = [ask(runtime, QUESTION) for _ in range(3)]
    assert len({a.answer for a in answers}) == 1  # the same advice, cached or not
    converse = [c for c in bedrock_emulator.calls() if c.operation == "Converse"]
    compose = converse[1::2]  # each turn: extract, then compose
    assert compose[0].cache_write_tokens > 1024
    assert compose[0].cache_read_tokens == 0
    for later in compose[1:]:
        assert later.cache_read_tokens == compose[0].cache_write_tokens
        assert later.input_tokens < compose[0].cache_write_tokens  # most of it not billed
    # The extract step's stable prefix (tool spec and instructions) is under Claude's 1,024
    # token minimum, so it gets no cachePoint and is billed in full every turn.
    assert all(c.cache_read_tokens == c.cache_write_tokens == 0 for c in converse[0::2])


@pytest.mark.emulator(regions=["us-east-1"])
def test_a_model_without_prompt_caching_is_billed_as_before(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    model = "us.anthropic.claude-3-haiku-20240307-v1:0"
    runtime = build_advisor(load_config(write_config(tmp_path, bedrock_emulator, model)))
    for _ in range(2):
        ask(runtime, QUESTION)
    calls = [c for c in bedrock_emulator.calls() if c.operation == "Converse"]
    assert calls
    assert all(c.cache_read_tokens == c.cache_write_tokens == 0 for c in calls)
    assert calls[1].input_tokens == calls[3].input_tokens


def test_the_split_prompt_is_the_prompt_the_model_saw_before() -> None:
    prompt = load_prompt("dr_advisor.extract")
    stable, rest = prompt.render_split(history="an earlier question")
    assert stable + rest == prompt.render(history="an earlier question")
    assert "$" not in stable
    assert "earlier question" not in stable
    assert cacheable_system(stable, rest) == [{"text": stable}, {"text": rest}]
    assert cacheable_system(stable, "") == [{"text": stable}]


def test_compose_puts_the_decision_first_and_this_turn_after_the_cache_point() -> None:
    from agentkit.bedrock.types import ModelRequest
    from agentkit.config import AgentkitConfig
    from agentkit.testing import FunctionModel

    seen: list[ModelRequest] = []

    def model(request: ModelRequest) -> str | dict[str, object]:
        seen.append(request)
        if request.tool_choice:
            return {"toolUse": {"name": "requirements", "input": {}}}
        return "Use warm standby."

    ask(build_advisor(AgentkitConfig(), model=FunctionModel(model)), QUESTION)
    compose = next(r for r in seen if not r.tool_choice)
    stable, turn = (block["text"] for block in compose.system)
    assert compose.cached_system_blocks == 1
    assert '"dr_advisor"' in stable
    assert '"this_turn"' not in stable
    assert turn.startswith('\n "this_turn": ')
    prompt = load_prompt("dr_advisor.compose")
    assert stable.startswith(prompt.render_split(tool_results="")[0])
