"""Streamed text guarded at the source: no raw secret reaches the sink, not even for a moment."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.emulator.responder import Responder, Script
from agentkit.guardrails.pii import redact
from agentkit.guardrails.stream import GuardedText
from tests.guardrails import fake_secrets as fake

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


def words(text: str) -> list[str]:
    """Deltas of four words, as the emulator streams them."""
    parts = text.split(" ")
    deltas = [" ".join(parts[i : i + 4]) + " " for i in range(0, len(parts), 4)]
    return [*deltas[:-1], deltas[-1][:-1]]


def streamed(deltas: list[str]) -> str:
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    for delta in deltas:
        guarded(delta)
    guarded.close()
    return "".join(seen)


@pytest.mark.parametrize("size", [1, 4, 9, 12])
def test_a_password_on_the_line_after_its_label_is_redacted(size: int) -> None:
    """The reviewer's repro: `password:` released in one piece, the value in the next."""
    text = "Warm standby fits. Settings\npassword:\n  Tr0ub4dor3xyzQ\nDone."
    for deltas in (chunks(text, size), words(text)):
        shown = streamed(deltas)
        assert "Tr0ub4dor3xyzQ" not in shown
        assert (
            shown
            == redact(text).text
            == "Warm standby fits. Settings\npassword:\n  {PASSWORD}\nDone."
        )


@pytest.mark.parametrize("filler", range(190, 270))
def test_a_password_past_the_window_cut_is_redacted(filler: int) -> None:
    """The reviewer's other repro: the window cut falls between the label and the value."""
    text = "word " * filler + f"db password: {fake.ASSIGNED_PASSWORD} " + "word " * 60 + "Done."
    shown = streamed(words(text))
    assert fake.ASSIGNED_PASSWORD not in shown
    assert shown == redact(text).text


def test_a_number_is_held_until_the_context_after_it_has_arrived() -> None:
    """An account ID needs a credentials word within 20 characters after it, here past a
    sentence end: the sentence is held until those characters are in."""
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    guarded(f"Fail over now. Use {fake.ACCOUNT_ID}.\n")
    assert seen == ["Fail over now. "]  # prose before it is not held
    guarded("An account id. ")
    guarded.close()
    assert "".join(seen) == "Fail over now. Use {AWS_ACCOUNT_ID}.\nAn account id. "


def test_a_private_key_is_held_until_its_own_end_line() -> None:
    block = (
        f"-----BEGIN RSA PRIVATE KEY-----\n{fake.PEM_BODY}\n-----END CERTIFICATE-----\n"
        "Then.\nsecond0line0of0the0key\n-----END RSA PRIVATE KEY-----"
    )
    text = f"The key:\n{block}\nDone."
    shown = streamed(chunks(text, 5))
    assert fake.PEM_BODY not in shown
    assert "second0line0of0the0key" not in shown
    assert shown == redact(text).text == "The key:\n{PRIVATE_KEY}\nDone."


def test_prose_is_shown_as_soon_as_its_first_sentence_ends() -> None:
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    deltas = words("Plan DR for payments-api. It runs on DynamoDB in us-east-1. RTO 15 min.")
    guarded(deltas[0])
    assert seen == ["Plan DR for payments-api. "]
    for delta in deltas[1:]:
        guarded(delta)
    assert seen[1:] == ["It runs on DynamoDB in us-east-1. "]


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
