"""Every parser either returns a value or raises its one-line user error: nothing else escapes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from agentkit.emulator.asgi import ControlApp
from agentkit.emulator.cli import load_file
from agentkit.emulator.faults import FaultPlan
from agentkit.emulator.guardrails import GuardrailCatalog
from agentkit.emulator.responder import Script
from agentkit.emulator.service import BedrockService
from agentkit.emulator.wire_errors import BedrockError
from agentkit.errors import UserError
from agentkit.yamlsource import load_yaml, parse_json
from tests.fuzz.conftest import VALUES, YAML_TEXT, dump, fuzz


def one_line(exc: UserError) -> None:
    assert str(exc)
    assert "\n" not in str(exc)


@fuzz(200)
@given(YAML_TEXT)
@example("a: &a [x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\n" * 1)
@example("[" * 10_000)
@example("x: " + "9" * 5000)
def test_yaml_loader(text: str) -> None:
    try:
        load_yaml(text, "in.yaml")
    except UserError as exc:
        one_line(exc)


@fuzz(300)
@given(st.one_of(VALUES.map(dump), st.text(max_size=60), st.binary(max_size=60)))
@example("[" * 100_000)
@example('{"a": NaN}')
@example(b"\xff\xfe")
def test_json_parser(text: str | bytes) -> None:
    try:
        parse_json(text, "in.json")
    except UserError as exc:
        one_line(exc)


@fuzz(150)
@given(st.one_of(YAML_TEXT, VALUES.map(dump), VALUES.map(lambda v: dump({"regions": v}))))
def test_emulator_files(workdir: Path, text: str) -> None:
    """Fault plans, scripts and guardrail catalogs as `agentkit emulate` loads them."""
    path = workdir / "emulator-input.yaml"
    path.write_text(text, encoding="utf-8")
    for model in (FaultPlan, Script, GuardrailCatalog):
        try:
            load_file(model, path)
        except UserError as exc:
            one_line(exc)


SERVICE = BedrockService(["us-east-1", "us-west-2"])


async def _apply(plan: FaultPlan) -> None:
    SERVICE.set_plan(plan)


def put_faults(body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "PUT", "path": "/faults", "headers": []}
    asyncio.run(ControlApp(SERVICE, _apply)(scope, receive, send))
    return int(sent[0]["status"])


@fuzz(150)
@given(
    st.one_of(
        YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
        VALUES.map(lambda v: dump({"regions": {"us-east-1": v}}).encode()),
        st.binary(max_size=40),
    )
)
def test_control_api_put_faults(body: bytes) -> None:
    assert put_faults(body) in (200, 400)


@fuzz(200)
@given(st.one_of(VALUES.map(lambda v: dump({"messages": v}).encode()), st.binary(max_size=40)))
@example(b'{"messages": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
def test_emulator_request_bodies(body: bytes) -> None:
    from agentkit.emulator.service import _json_object

    try:
        _json_object(body)
        code = "accepted"
    except BedrockError as exc:
        code = exc.code
    assert code in ("accepted", "ValidationException")
