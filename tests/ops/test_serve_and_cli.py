"""``agentkit ops`` on the command line, and ``agentkit serve`` refusing turns under the kill
switch (file backend, in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from starlette.testclient import TestClient

from agentkit.config import load_config
from agentkit.ops.store import open_store
from agentkit.serve.http import create_app
from agentkit.serve.http_service import Advisor, ServeSettings
from agentkit.telemetry.setup import Telemetry
from tests.serve.test_http_process import run_cli

SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "agentkit.yaml"
    path.write_text(f"ops: {{path: {tmp_path / 'ctl' / 'ops.json'}}}\n")
    return path


def test_set_show_clear_and_the_audit_line(config: Path, tmp_path: Path) -> None:
    done = run_cli(
        "ops", "set", "kill_switch=on", "max_tokens=512", "-c", str(config), "--by", "al"
    )
    assert done.returncode == 0, done.stderr
    assert "overrides now: kill_switch=on max_tokens=512" in done.stdout
    shown = json.loads(run_cli("ops", "show", "--json", "-c", str(config)).stdout)
    assert shown["overrides"] == {"kill_switch": "on", "max_tokens": "512"}
    assert shown["set_by"] == "al"
    assert run_cli("ops", "clear", "max_tokens", "-c", str(config), "--by", "al").returncode == 0
    assert run_cli("ops", "clear", "-c", str(config), "--by", "bo").returncode == 0
    assert "no overrides are set" in run_cli("ops", "show", "-c", str(config)).stdout
    lines = (tmp_path / "ctl" / "ops-audit.jsonl").read_text().splitlines()
    audit = [json.loads(line) for line in lines]
    assert [(a["by"], a["action"], a.get("set"), a.get("cleared")) for a in audit] == [
        ("al", "set", {"kill_switch": "on", "max_tokens": "512"}, None),
        ("al", "clear", None, ["max_tokens"]),
        ("bo", "clear", None, "all"),
    ]
    assert all(a["at"].endswith("Z") for a in audit)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["set", "max_tokens=lots"], "max_tokens=lots: expected a whole number"),
        (["set", "speed=fast"], "speed: unknown override; the keys are"),
        (["set", "pin=eu-west-1"], "pin=eu-west-1: names no route of agentkit.yaml"),
        (["set", "tool.knowledge_search=nope"], "no tool nope; the tools are"),
        (["clear", "speed"], "speed: unknown override"),
        (["set", "kill_switch=on", "--by", " "], "--by: a name of 1-200 printable characters"),
    ],
)
def test_a_mistake_is_one_line_exit_2_and_changes_nothing(
    config: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    done = run_cli("ops", *args, "-c", str(config))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "ctl" / "ops.json").exists()
    assert not (tmp_path / "ctl" / "ops-audit.jsonl").exists()


@pytest.fixture
def served(config: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Advisor]]:
    settings = ServeSettings(
        config=str(config),
        sessions=str(tmp_path / "sessions.sqlite"),
        canary_state=str(tmp_path / "canary.json"),
    )
    telemetry = Telemetry(TracerProvider(), NoOpMeterProvider())
    advisor = Advisor.open(settings, telemetry=telemetry)
    with TestClient(create_app(advisor, settings)) as client:
        yield client, advisor


def test_serve_refuses_turns_with_503_naming_the_kill_switch_until_it_is_cleared(
    config: Path, served: tuple[TestClient, Advisor]
) -> None:
    client, advisor = served
    assert advisor.overrides is not None
    assert client.post("/invocations", json={"prompt": SAFE}).status_code == 200
    store = open_store(load_config(config))
    from agentkit.ops.store import change

    store.update(change({"kill_switch": "on"}, by="oncall"))
    advisor.overrides.refresh()  # the poll interval is over
    refused = client.post("/invocations", json={"prompt": SAFE})
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "kill_switch"
    assert "kill switch is on (set by oncall" in error["message"]
    streamed = client.post("/invocations", json={"prompt": SAFE, "stream": True})
    assert (streamed.status_code, streamed.json()["error"]["code"]) == (503, "kill_switch")
    assert client.get("/ping").json()["status"] == "Healthy"  # the process itself is fine

    store.update(change({}, None, by="oncall"))
    advisor.overrides.refresh()
    assert client.post("/invocations", json={"prompt": SAFE}).status_code == 200


def test_ask_refuses_under_the_kill_switch_and_answers_once_it_is_cleared(config: Path) -> None:
    assert run_cli("ops", "set", "kill_switch=on", "-c", str(config), "--by", "al").returncode == 0
    refused = run_cli("ask", SAFE, "-c", str(config))
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("agentkit: error: the operator kill switch is on (set by al"), last
    assert "agentkit ops clear kill_switch" in last
    assert refused.stdout == ""
    assert run_cli("ops", "clear", "-c", str(config)).returncode == 0
    answered = run_cli("ask", SAFE, "-c", str(config))
    assert answered.returncode == 0, answered.stderr
    assert "Warm standby" in answered.stdout
