"""What the CLI exports: a root span per command, stdout left to the command, cheap when off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.errors import InputError

QUESTION = "RTO 15 min RPO 1 min payments-api in us-east-1"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands without --config read ./agentkit.yaml: run each test in its own folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)


def jsonl_config(folder: Path) -> Path:
    path = folder / "agentkit.yaml"
    path.write_text(f"telemetry:\n  exporter: jsonl\n  path: {folder / 'spans.jsonl'}\n")
    return path


def exported(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "spans.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in spans if s["parent_id"] == parent["context"]["span_id"]]


def test_console_spans_go_to_stderr_and_json_stays_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "agentkit.yaml").write_text("telemetry:\n  exporter: console\n")
    env = {**os.environ, "OTEL_SERVICE_NAME": "dr-advisor-ci"}
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "ask", "--json", QUESTION],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["strategy"] == "warm_standby"  # stdout is only the answer
    assert '"name": "agentkit ask"' in result.stderr
    assert '"name": "invoke_agent dr-advisor"' in result.stderr
    assert '"service.name": "dr-advisor-ci"' in result.stderr


def test_help_version_and_untraced_commands_import_no_opentelemetry(tmp_path: Path) -> None:
    probe = (
        "import os, sys\n"
        "from agentkit.cli.app import main\n"
        "def run(argv):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), exc.code\n"
        "run(['--help'])\n"
        "run(['--version'])\n"
        "run(['runbook', 'plan', 'aurora-global-failover', '--from', 'us-east-1',\n"
        "     '--to', 'us-west-2', '--format', 'json'])\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules if 'opentelemetry' in m}))\n"
    )
    plain = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "LOADED []" in plain.stdout, plain.stderr
    # An exporter is configured, but OTEL_SDK_DISABLED wins: still nothing imported.
    folder = tmp_path / "sdk-off"
    folder.mkdir()
    jsonl_config(folder)
    disabled = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
        env={**os.environ, "OTEL_SDK_DISABLED": "true"},
    )
    assert "LOADED []" in disabled.stdout, disabled.stderr
    assert not (folder / "spans.jsonl").exists()


def test_a_command_span_records_exit_code_0(tmp_path: Path) -> None:
    jsonl_config(tmp_path)
    result = CliRunner().invoke(
        app,
        ["runbook", "plan", "aurora-global-failover", "--from", "us-east-1", "--to", "us-west-2"],
    )
    assert result.exit_code == 0, result.output
    (span,) = exported(tmp_path)
    assert span["name"] == "agentkit runbook plan"
    assert span["parent_id"] is None
    assert span["kind"] == "SpanKind.INTERNAL"
    assert span["attributes"]["agentkit.command"] == "runbook plan"
    assert span["attributes"]["process.exit.code"] == 0
    assert "error.type" not in span["attributes"]
    assert span["status"]["status_code"] == "UNSET"


def test_a_failed_command_span_has_the_exit_code_and_error_type(tmp_path: Path) -> None:
    jsonl_config(tmp_path)
    result = CliRunner().invoke(app, ["runbook", "plan", "no-such-runbook", "--from", "us-east-1"])
    assert isinstance(result.exception, InputError)  # main() turns it into exit 2
    (span,) = exported(tmp_path)
    assert span["attributes"]["process.exit.code"] == 2
    assert span["attributes"]["error.type"] == "InputError"
    assert span["status"]["status_code"] == "ERROR"
    assert "no-such-runbook" in span["status"]["description"]


def test_gameday_traces_each_call_under_the_command_and_exports_metrics(tmp_path: Path) -> None:
    config = jsonl_config(tmp_path)
    result = CliRunner().invoke(app, ["gameday", "--requests", "2", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    spans = exported(tmp_path)
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "agentkit gameday"
    calls = children(spans, root)
    assert len(calls) == 2
    assert all(c["name"].startswith("chat ") for c in calls)
    assert all(c["context"]["trace_id"] == root["context"]["trace_id"] for c in calls)
    assert {c["attributes"]["server.address"] for c in calls} == {"127.0.0.1"}
    (line,) = (tmp_path / "spans.metrics.jsonl").read_text().splitlines()
    names = {
        m["name"]
        for r in json.loads(line)["resource_metrics"]
        for s in r["scope_metrics"]
        for m in s["metrics"]
    }
    assert {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "agentkit.gateway.requests",
        "agentkit.gateway.attempts",
        "agentkit.gateway.fallbacks",
        "agentkit.breaker.state",
    } <= names


def test_chat_is_one_trace_per_turn(tmp_path: Path) -> None:
    config = jsonl_config(tmp_path)
    db = str(tmp_path / "sessions.sqlite")
    script = f"{QUESTION}\nand with RPO 5 min?\n/quit\n"
    result = CliRunner().invoke(
        app, ["chat", "--session", "s1", "--sessions", db, "-c", str(config)], input=script
    )
    assert result.exit_code == 0, result.output
    spans = exported(tmp_path)
    roots = [s for s in spans if s["parent_id"] is None]
    assert [r["name"] for r in roots] == ["agentkit chat", "agentkit chat"]
    assert len({r["context"]["trace_id"] for r in roots}) == 2
    for root in roots:
        assert root["attributes"]["gen_ai.conversation.id"] == "s1"
        assert root["attributes"]["process.exit.code"] == 0
        assert [c["name"] for c in children(spans, root)] == ["invoke_agent dr-advisor"]
