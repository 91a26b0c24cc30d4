"""The control API, and HTTP/2 cleartext (prior knowledge) beside HTTP/1.1 on the same port."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import pytest

from agentkit.emulator import Emulator

from .conftest import MODEL, USER, model_path

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def control(emu: Emulator, method: str, path: str, body: str | None = None) -> tuple[int, Any]:
    parts = urlsplit(emu.control_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, path, body.encode() if body is not None else None)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_control_api_puts_faults_as_yaml_or_json_and_reads_the_call_log(emu: Emulator) -> None:
    status, plan = control(
        emu, "PUT", "/faults", "seed: 3\nregions:\n  us-east-1:\n    down: true\n"
    )
    assert status == 200
    assert plan["regions"]["us-east-1"]["down"] is True
    assert control(emu, "GET", "/faults")[1]["seed"] == 3
    status, _ = control(
        emu, "PUT", "/faults", json.dumps({"regions": {"us-west-2": {"latency_ms": 1}}})
    )
    assert status == 200
    emu.client("us-east-1").converse(modelId=MODEL, messages=USER)  # us-east-1 is back up
    calls = control(emu, "GET", "/calls")[1]["calls"]
    assert [(c["region"], c["operation"], c["status"], c["attempt"]) for c in calls] == [
        ("us-east-1", "Converse", 200, 1)
    ]
    assert control(emu, "DELETE", "/calls")[0] == 204
    assert control(emu, "GET", "/calls")[1] == {"calls": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("regions: {us-east-1: {errors: [{code: Boom}]}}", "regions.us-east-1.errors.0.code"),
        (
            "regions: {us-east-1: {stream: {error_after_events: -1}}}",
            "regions.us-east-1.stream.error_after_events",
        ),
        ("regions: {eu-west-9: {down: true}}", "regions.eu-west-9"),
        ("regions: [", "not valid JSON or YAML"),
    ],
)
def test_a_bad_plan_is_400_naming_the_field_and_keeps_the_old_plan(
    emu: Emulator, body: str, field: str
) -> None:
    control(emu, "PUT", "/faults", "seed: 5")
    status, answer = control(emu, "PUT", "/faults", body)
    assert status == 400
    assert field in answer["message"]
    assert control(emu, "GET", "/faults")[1]["seed"] == 5


def test_unknown_control_path_is_404(emu: Emulator) -> None:
    assert control(emu, "GET", "/nope")[0] == 404


def h2_converse(endpoint: str) -> tuple[int, dict[str, Any]]:
    """One Converse over HTTP/2 cleartext with prior knowledge, the way the JS SDK talks."""
    parts = urlsplit(endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    body = json.dumps({"messages": USER}).encode()
    headers = [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", parts.netloc),
        (":path", model_path(MODEL, "converse")),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
    ]
    conn.send_headers(1, headers)
    conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    status, data, done = 0, b"", False
    while not done:
        for event in conn.receive_data(sock.recv(65536)):
            if isinstance(event, h2.events.ResponseReceived):
                status = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                data += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                done = True
        sock.sendall(conn.data_to_send())
    sock.close()
    return status, json.loads(data)


def test_http2_prior_knowledge_on_the_region_port(emu: Emulator) -> None:
    emu.client("us-east-1").converse(modelId=MODEL, messages=USER)  # HTTP/1.1 on the same port
    status, body = h2_converse(emu.endpoints["us-east-1"])
    assert status == 200
    assert body["stopReason"] == "end_turn"
    assert [c.http_version for c in emu.calls()] == ["1.1", "2"]


def test_aws_sdk_for_javascript_v3_default_handler(emu: Emulator) -> None:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules").is_dir():
        if os.environ.get("AGENTKIT_REQUIRE_JS"):
            pytest.fail("tests/js is not installed: run `npm install --prefix tests/js`")
        pytest.skip("the JS SDK check needs `npm install --prefix tests/js` (CI runs it)")
    result = subprocess.run(
        [node, str(JS_DIR / "converse.mjs"), emu.endpoints["us-west-2"], "us-west-2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["handler"] == "NodeHttp2Handler"
    assert answer["stopReason"] == "end_turn"
    assert answer["streamStopReason"] == "end_turn"
    assert answer["streamed"] == answer["text"]
    assert [(c.operation, c.http_version) for c in emu.calls()] == [
        ("Converse", "2"),
        ("ConverseStream", "2"),
    ]
