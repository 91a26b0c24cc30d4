"""The done-when client: the official MCP TypeScript SDK (not agentkit's Python stack) lists the
tools with their schemas and calls each one, over stdio and over Streamable HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.serve.test_mcp import REQUEST
from tests.serve.test_mcp_http import server_url  # noqa: F401  (the HTTP server fixture)
from tests.tools.test_capabilities import ARCHITECTURE, CAPACITY

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "tests" / "js" / "node_modules" / "@modelcontextprotocol" / "sdk"
CLIENT = Path(__file__).with_name("mcp_ts_client.mjs")
TOOLS = {"dr_advisor", "failover_runbook", "fmea_generate", "capacity_plan"}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture(autouse=True)
def sdk_installed() -> None:
    """With Node present, the SDK (pinned in tests/js/package.json) must be there in CI."""
    if (SDK / "package.json").is_file():
        return
    reason = "the MCP TypeScript SDK is missing: run `npm install --prefix tests/js`"
    if os.environ.get("AGENTKIT_REQUIRE_JS"):
        pytest.fail(f"AGENTKIT_REQUIRE_JS=1 but {reason}")
    pytest.skip(reason)


def calls(out: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("dr_advisor", REQUEST),
        ("failover_runbook", {"strategy": "warm_standby", "max_runbooks": 2}),
        ("fmea_generate", {"architecture_path": str(ARCHITECTURE), "out_dir": str(out)}),
        ("capacity_plan", {"capacity": CAPACITY}),
    ]


def ts_client(mode: str, target: str, tmp_path: Path) -> dict[str, Any]:
    requests = tmp_path / "calls.json"
    requests.write_text(json.dumps(calls(tmp_path / "fmea")))
    done = subprocess.run(
        ["node", str(CLIENT), str(SDK), mode, target, str(requests)],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def check(answer: dict[str, Any], tmp_path: Path) -> None:
    tools = {tool["name"]: tool for tool in answer["tools"]}
    assert set(tools) >= TOOLS
    for name in TOOLS:
        assert tools[name]["inputSchema"]["type"] == "object"
        assert tools[name]["outputSchema"]["type"] == "object"
        assert tools[name]["title"].startswith(f"{name} v")
    assert tools["fmea_generate"]["annotations"]["idempotentHint"] is True
    assert tools["fmea_generate"]["annotations"]["readOnlyHint"] is False
    assert tools["capacity_plan"]["annotations"]["readOnlyHint"] is True
    assert [r["name"] for r in answer["results"]] == [name for name, _ in calls(tmp_path)]
    for result in answer["results"]:
        assert result["isError"] is False, result["text"]
        schema = tools[result["name"]]["outputSchema"]
        errors = list(Draft202012Validator(schema).iter_errors(result["structuredContent"]))
        assert errors == [], result["name"]
    assert (tmp_path / "fmea" / "fmea.md").is_file()


def test_the_typescript_sdk_over_stdio(tmp_path: Path) -> None:
    check(ts_client("stdio", sys.executable, tmp_path), tmp_path)


def test_the_typescript_sdk_over_http(server_url: str, tmp_path: Path) -> None:  # noqa: F811
    check(ts_client("http", server_url, tmp_path), tmp_path)
