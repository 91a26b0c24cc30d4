"""`agentkit chat` against the emulator: a secret the model streams never reaches the terminal,
even when its detector needs context on the far side of a release point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.emulator import Emulator
from agentkit.emulator.responder import Responder, Script
from tests.guardrails import fake_secrets as fake

QUESTION = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# The emulator streams four words a delta: the label and the value land in different deltas.
ANSWERS = {
    "yaml password": (
        "Warm standby fits. Settings\npassword:\n  Tr0ub4dor3xyzQ\nDone.",
        ["Tr0ub4dor3xyzQ"],
        "{PASSWORD}",
    ),
    "key and secret": (
        f"Warm standby fits. Rotate {KEY} and {SECRET} after the drill. Done.",
        [KEY, SECRET],
        "{AWS_ACCESS_KEY}",
    ),
    "password past the window": (
        "Warm standby fits. "
        + "word " * 252  # puts the old window cut between the label and the value
        + f"db password: {fake.ASSIGNED_PASSWORD} "
        + "word " * 60
        + "Done.",
        [fake.ASSIGNED_PASSWORD],
        "{PASSWORD}",
    ),
    "private key block": (
        f"Warm standby fits. The key:\n{fake.PEM}\nDone.",
        [fake.PEM_BODY, "7bKvWQa9Zx3fake0line2"],
        "{PRIVATE_KEY}",
    ),
}


def scripted(name: str) -> object:
    text = ANSWERS[name][0]
    script = Script.model_validate(
        {"*": [{"tool_use": {"name": "requirements", "input": {}}}, {"text": text}]}
    )
    marks = pytest.mark.emulator(regions=["us-east-1"], responder=Responder(script))
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [scripted(name) for name in ANSWERS])
def test_chat_never_prints_a_streamed_secret(
    name: str, bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    _, secrets, placeholder = ANSWERS[name]
    config = tmp_path / "agentkit.yaml"
    endpoint = bedrock_emulator.endpoints["us-east-1"]
    config.write_text(
        "models:\n  residency: us\n"
        "  routes:\n    - {model: us.amazon.nova-pro-v1:0, region: us-east-1}\n"
        f'  endpoints: {{us-east-1: "{endpoint}"}}\n'
    )
    result = CliRunner().invoke(
        app,
        ["chat", "-c", str(config), "--sessions", str(tmp_path / "s.db")],
        input=f"{QUESTION}\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    shown = result.stdout_bytes + result.stderr_bytes
    # The terminal may wrap a long line: look for each secret with white space taken out too.
    compact = re.sub(rb"\s", b"", shown)
    for secret in secrets:
        assert secret.encode() not in shown
        assert re.sub(r"\s", "", secret).encode() not in compact
    assert placeholder.encode() in shown  # the answer was streamed, redacted
