"""``agentkit gameday`` with MCP servers: the fault server stands in for each configured server.

Every stand-in is a real MCP server on loopback (stdio child process or Streamable HTTP) serving
the tools of examples/mcp.lock.json; calls go through the real MCP client. Timeouts are generous
(the stand-ins are Python processes on a loaded machine) except where a hang must end at one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.config import McpServerConfig
from agentkit.emulator.faults import McpServerFaults
from agentkit.gameday import run_mcp_drill

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "examples" / "mcp-servers.yaml"
OUTAGE = ROOT / "examples" / "faults" / "mcp-tool-outage.yaml"
LOCK = ROOT / "examples" / "mcp.lock.json"
PRIMARY, FALLBACK = "inventory", "inventory-dr"


def servers(primary: dict[str, Any] | None = None) -> dict[str, McpServerConfig]:
    """Both servers with generous timeouts; the primary's breaker opens after 2 failures."""
    spec = {
        "command": "inventory-mcp",
        "timeout_s": 120,
        "retries": 1,
        "breaker": {"fail_max": 2, "reset_s": 3600},
        "fallback": FALLBACK,
        **(primary or {}),
    }
    if "url" in spec:
        del spec["command"]
    return {
        PRIMARY: McpServerConfig.model_validate(spec),
        FALLBACK: McpServerConfig(url="https://inventory-dr.example.com/mcp", timeout_s=120),
    }


def drill(fault: dict[str, Any], primary: dict[str, Any] | None = None) -> dict[str, Any]:
    faults = {PRIMARY: McpServerFaults.model_validate(fault)}
    return run_mcp_drill(servers(primary), faults, 2, LOCK).to_json()


def tools(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = ("answered_by", "errors", "executions")
    return {t["tool"]: {k: t[k] for k in keys} for t in report["tools"]}


def breakers(report: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["breaker"] for s in report["servers"]}


def both(**outcome: Any) -> dict[str, dict[str, Any]]:
    return {"lookup": outcome, "reserve": outcome}


# Each drill calls lookup (read_only) then reserve (mutating), in two rounds.
@pytest.mark.parametrize(
    ("fault", "expected", "primary_breaker"),
    [
        pytest.param(
            {"fault": "down"},  # never sent: reserve may go to the fallback too
            both(answered_by={FALLBACK: 2}, errors={}, executions={FALLBACK: 2}),
            "open",
            id="down",
        ),
        pytest.param(
            {"fault": "is_error"},  # the tool's own answer: not an outage, no fallback
            both(answered_by={}, errors={"tool_error": 2}, executions={PRIMARY: 2}),
            "closed",
            id="is_error",
        ),
        pytest.param(
            {"fault": "jsonrpc_error", "code": -32602},  # invalid params: one attempt, no trip
            both(answered_by={}, errors={"invalid_params": 2}, executions={}),
            "closed",
            id="invalid_params",
        ),
        pytest.param(
            {"fault": "jsonrpc_error"},  # -32603: lookup falls back; reserve may have run
            {
                "lookup": {"answered_by": {FALLBACK: 2}, "errors": {}, "executions": {FALLBACK: 2}},
                "reserve": {
                    "answered_by": {FALLBACK: 1},  # once the breaker is open: never sent
                    "errors": {"error": 1},
                    "executions": {FALLBACK: 1},
                },
            },
            "open",
            id="internal_error",
        ),
        pytest.param(
            {"fault": "drop"},  # lookup's retry drops too and opens the breaker
            both(answered_by={FALLBACK: 2}, errors={}, executions={FALLBACK: 2}),
            "open",
            id="drop",
        ),
        pytest.param(
            {"fault": "drift"},  # refused at session open, naming both digests
            both(answered_by={}, errors={"contract": 2}, executions={}),
            "closed",
            id="drift",
        ),
        pytest.param(
            {"fault": "invalid_output"},  # the tool ran; its answer is refused
            both(answered_by={}, errors={"invalid_output": 2}, executions={PRIMARY: 2}),
            "closed",
            id="invalid_output",
        ),
        pytest.param(
            {"fault": "jsonrpc_error", "first": 1},  # one failed call, then healthy
            {
                "lookup": {
                    "answered_by": {PRIMARY: 1, FALLBACK: 1},
                    "errors": {},
                    "executions": {PRIMARY: 1, FALLBACK: 1},
                },
                "reserve": {"answered_by": {PRIMARY: 2}, "errors": {}, "executions": {PRIMARY: 2}},
            },
            "closed",
            id="first",
        ),
    ],
)
def test_each_fault_ends_as_the_client_promises(
    fault: dict[str, Any], expected: dict[str, Any], primary_breaker: str
) -> None:
    report = drill(fault)
    assert tools(report) == expected
    assert breakers(report) == {PRIMARY: primary_breaker, FALLBACK: "closed"}


def test_a_hang_ends_at_the_timeout_over_http() -> None:
    """The primary is served over HTTP; its hung calls end at its 3 s deadline."""
    report = drill({"fault": "hang"}, {"url": "https://inventory.example.com/mcp", "timeout_s": 3})
    assert tools(report) == {
        "lookup": {"answered_by": {FALLBACK: 2}, "errors": {}, "executions": {FALLBACK: 2}},
        "reserve": {
            "answered_by": {FALLBACK: 1},  # timed out, may have run: not sent to the fallback
            "errors": {"timeout": 1},
            "executions": {FALLBACK: 1},
        },
    }
    assert [s["transport"] for s in report["servers"]] == ["http", "http"]
    assert breakers(report)[PRIMARY] == "open"


def test_the_outage_example_shows_the_fallback() -> None:
    result = CliRunner().invoke(
        app,
        [
            "gameday",
            "--json",
            "--faults",
            str(OUTAGE),
            "-c",
            str(EXAMPLE_CONFIG),
            "--requests",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["plan"] == {"mcp": {PRIMARY: {"fault": "down"}}}
    assert report["answered"] == report["requests"] == 3  # the model chain, healthy
    mcp = report["mcp"]
    assert (mcp["answered"], mcp["calls"]) == (6, 6)
    assert tools(mcp) == both(answered_by={FALLBACK: 3}, errors={}, executions={FALLBACK: 3})
    assert mcp["servers"] == [
        {
            "name": PRIMARY,
            "transport": "stdio",
            "fault": "down",
            "fallback": FALLBACK,
            "breaker": "open",
        },
        {
            "name": FALLBACK,
            "transport": "http",
            "fault": None,
            "fallback": None,
            "breaker": "closed",
        },
    ]

    text = CliRunner().invoke(
        app,
        ["gameday", "--faults", str(OUTAGE), "-c", str(EXAMPLE_CONFIG), "--requests", "1"],
        env={"COLUMNS": "200"},
    )
    assert text.exit_code == 0, text.output
    assert "2/2 MCP tool calls answered" in text.output
    assert "inventory-dr 1" in text.output


def test_unanswered_calls_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "agentkit.yaml"
    config.write_text(EXAMPLE_CONFIG.read_text())
    shutil.copy(LOCK, tmp_path / "mcp.lock.json")
    plan = tmp_path / "plan.yaml"
    plan.write_text("mcp: {inventory: {fault: is_error}}\n")
    result = CliRunner().invoke(
        app, ["gameday", "--faults", str(plan), "-c", str(config), "--requests", "1", "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["mcp"]["answered"] == 0


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", "gameday", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            "mcp: {inventory: {fault: melt}}\n",
            "mcp.inventory.fault: Input should be 'down', 'hang',",
        ),
        (
            "mcp: {nope: {fault: down}}\n",
            "mcp.nope: no such server in mcp_servers; known: inventory, inventory-dr",
        ),
        (
            "mcp: {inventory: {fault: down, first: 2}}\n",
            "first counts calls of a per-call fault, and down is not one",
        ),
    ],
)
def test_an_invalid_plan_is_one_line_and_exit_2(tmp_path: Path, plan: str, message: str) -> None:
    faults = tmp_path / "plan.yaml"
    faults.write_text(plan)
    result = run_cli("--faults", str(faults), "-c", str(EXAMPLE_CONFIG), "--requests", "1")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert message in line


def test_servers_missing_from_the_lock_are_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "agentkit.yaml"
    config.write_text(EXAMPLE_CONFIG.read_text())  # no mcp.lock.json beside it
    result = run_cli("--faults", str(OUTAGE), "-c", str(config), "--requests", "1")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "mcp_servers inventory, inventory-dr: not in " in line
    # the client's own check (McpClient.from_config), saying what waits for the lock
    assert line.endswith(
        "record the tools they serve with `agentkit tools lock -c agentkit.yaml` before a game day"
    )
