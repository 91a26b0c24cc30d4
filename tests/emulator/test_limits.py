"""Hostile requests and plans: 413 and 400 in Bedrock's shape, never a 500 or a stalled server."""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from agentkit.emulator import Emulator
from agentkit.emulator.asgi import read_body, read_limited
from agentkit.emulator.cli import load_file
from agentkit.emulator.guardrails import GuardrailCatalog
from agentkit.emulator.limits import MAX_PLAN_BYTES, MAX_REQUEST_BYTES, check_pattern
from agentkit.emulator.responder import Script
from agentkit.errors import InputError
from tests.emulator.conftest import MODEL, USER, model_path, raw_post


def send(url: str, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body, {"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def assert_bedrock_error(status: int, headers: dict[str, str], body: bytes, code: int) -> str:
    assert status == code
    assert headers["x-amzn-errortype"] == "ValidationException"
    message = json.loads(body)["message"]
    assert isinstance(message, str)
    return message


def declare_only(url: str, path: str, length: int) -> tuple[int, dict[str, str], bytes]:
    """Send headers declaring ``length`` bytes, and no body: the answer must not wait for it."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(length))
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_a_request_body_over_the_limit_is_413(emu: Emulator) -> None:
    path = model_path(MODEL, "converse")
    answer = declare_only(emu.endpoints["us-east-1"], path, MAX_REQUEST_BYTES + 1)
    assert "larger than the" in assert_bedrock_error(*answer, code=413)
    answer = declare_only(emu.control_url, "/faults", MAX_PLAN_BYTES + 1)
    assert_bedrock_error(*answer, code=413)
    assert emu.client("us-east-1").converse(modelId=MODEL, messages=USER)["output"]


def test_a_body_without_a_length_is_cut_at_the_limit() -> None:
    chunks = [{"body": b"x" * 400, "more_body": True} for _ in range(10)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"headers": []}
    assert asyncio.run(read_limited(scope, receive, send_, 1000)) is None
    assert len(chunks) == 7  # stopped reading as soon as the limit was passed
    assert sent[0]["status"] == 413
    assert asyncio.run(read_body(_once(b"{}"), 1000)) == b"{}"


def _once(body: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"body": body, "more_body": False}

    return receive


def test_a_fault_plan_over_the_limit_is_413_and_the_old_plan_stays(emu: Emulator) -> None:
    assert send(emu.control_url, "PUT", "/faults", b"seed: 5")[0] == 200
    plan = b"seed: 6\n" + b"#" * (MAX_PLAN_BYTES - 100)
    assert send(emu.control_url, "PUT", "/faults", plan)[0] == 200
    assert send(emu.control_url, "PUT", "/faults", b"seed: 5")[0] == 200
    assert declare_only(emu.control_url, "/faults", MAX_PLAN_BYTES + 1)[0] == 413
    assert json.loads(send(emu.control_url, "GET", "/faults", b"")[2])["seed"] == 5


@pytest.mark.parametrize(
    "body",
    [
        b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"messages": ' + b"[" * 200 + b"]" * 200 + b"}",
        b'{"messages": [], "inferenceConfig": {"temperature": NaN}}',
        b'{"messages": [' + b"1" * 5000 + b"]}",
        b"\xff\xfe",
    ],
)
def test_malformed_or_deep_json_is_400_validation(emu: Emulator, body: bytes) -> None:
    answer = raw_post(emu.endpoints["us-east-1"], model_path(MODEL, "converse"), body)
    assert "Malformed input request" in assert_bedrock_error(*answer, code=400)


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        (b"a: &a [x, x]\nb: [" + b", ".join([b"*a"] * 200) + b"]", "aliases"),
        (b"[" * 1000 + b"]" * 1000, "nested more than"),
        (b"regions: {us-east-1: {latency_ms: .inf}}", "numbers must be finite"),
        (b'{"regions": {"us-east-1": {"latency_ms": 1e308}}}', "less than or equal"),
        (b"\xff", "not UTF-8"),
    ],
)
def test_hostile_fault_plans_are_400(emu: Emulator, plan: bytes, problem: str) -> None:
    status, _, body = send(emu.control_url, "PUT", "/faults", plan)
    assert status == 400
    assert problem in json.loads(body)["message"]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("[", "invalid regex"), ("(a+)+$", "exponential time"), ("x" * 1001, "longer than")],
)
def test_script_and_guardrail_regexes_are_checked_on_load(
    tmp_path: Path, pattern: str, problem: str
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(json.dumps({"*": [{"match": pattern, "text": "t"}]}))
    with pytest.raises(InputError, match=problem) as caught:
        load_file(Script, script)
    assert "\n" not in str(caught.value)
    catalog = tmp_path / "guardrails.yaml"
    rule = {"name": "r", "pattern": pattern}
    catalog.write_text(json.dumps({"us-east-1": [{"id": "g", "regexes": [rule]}]}))
    with pytest.raises(InputError, match=problem):
        load_file(GuardrailCatalog, catalog)


def test_safe_patterns_pass() -> None:
    for pattern in ("(?i)failover", r"INC-\d+", "(?:ab){1,3}x+", "a++", r"^\w+@\w+\.com$"):
        assert check_pattern(pattern) == pattern
