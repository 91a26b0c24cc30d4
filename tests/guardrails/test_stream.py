"""Streamed text guarded at the source: no raw secret reaches the sink, not even for a moment."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.emulator.responder import Responder, Script
from agentkit.guardrails.stream import GuardedText

KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\nqO5Uf0\n-----END RSA PRIVATE KEY-----"


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_a_secret_split_across_deltas_is_never_released_raw(size: int) -> None:
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    text = (
        f"Rotate the key {KEY} and the secret aws_secret_access_key={SECRET} now. Then {PEM}\nDone."
    )
    for delta in chunks(text, size):
        guarded(delta)
        raw = "".join(seen)
        for secret in (KEY, SECRET, "MIIEpAIBAAKCAQEA7bq"):
            assert secret not in raw
            assert not any(secret.startswith(part) and len(part) > 8 for part in seen)
    guarded.close()
    shown = "".join(seen)
    assert "Rotate the key {AWS_ACCESS_KEY}" in shown
    assert shown.endswith("Done.")


def test_text_is_released_a_sentence_at_a_time() -> None:
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    for delta in ["Fail over ", "to the standby. ", "Then verify"]:
        guarded(delta)
    assert seen == ["Fail over to the standby. "]
    guarded.close()
    assert seen[-1] == "Then verify"


def test_a_long_run_without_a_sentence_end_is_released_but_for_a_tail() -> None:
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    guarded("word " * 200)
    assert seen
    assert len("".join(seen)) <= 1000 - 160


def test_an_ungrounded_sentence_stops_the_stream() -> None:
    seen: list[str] = []
    results: dict[str, Any] = {"strategy": "warm_standby", "target_regions": ["eu-west-3"]}
    guarded = GuardedText(seen.append, results)
    for delta in ["Use warm standby in eu-west-3. ", "Or fail over to us-east-1. ", "Bye. "]:
        guarded(delta)
    guarded.close()
    assert seen == ["Use warm standby in eu-west-3. "]
    assert guarded.halted is not None
    assert "us-east-1" in guarded.halted


SCRIPT = Script.model_validate(
    {
        "*": [
            {"tool_use": {"name": "requirements", "input": {}}},
            {"text": f"Warm standby fits. Rotate {KEY} and {SECRET} after the drill. Done."},
        ]
    }
)


@pytest.mark.emulator(regions=["us-east-1"], responder=Responder(SCRIPT))
def test_a_secret_the_model_streams_never_reaches_the_terminal(bedrock_emulator: Emulator) -> None:
    config = AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": bedrock_emulator.endpoints,
                "routes": [{"model": "us.amazon.nova-pro-v1:0", "region": "us-east-1"}],
            }
        }
    )
    terminal: list[str] = []
    answer = ask(
        build_advisor(config),
        "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min",
        on_text=terminal.append,
    )
    raw = "".join(terminal)
    assert terminal  # something was streamed
    for secret in (KEY, SECRET):
        assert secret not in raw
        assert secret not in answer.answer
