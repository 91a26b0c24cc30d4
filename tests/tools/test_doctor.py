"""``agentkit doctor``'s tools section: local contracts and MCP servers (the fault server)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.emulator.mcp_faults import FaultOptions, command, running_http, tool_list
from agentkit.tools.contracts import LOCK_NAME, load_contracts, lock_entry
from agentkit.tools.doctor import check_contracts
from agentkit.tools.mcp_client import MCP_LOCK_NAME, lock_document, locked_tool, schema_digest

from .conftest import write_tool


def write_config(folder: Path, servers: dict[str, dict[str, Any]], *, lock: bool = True) -> Path:
    """agentkit.yaml with ``servers`` and, with ``lock``, the fault server's undrifted lock."""
    path = folder / "agentkit.yaml"
    path.write_text(json.dumps({"mcp_servers": servers}))  # JSON is YAML
    if lock:
        tools = tool_list(FaultOptions(Path(".")))
        document = lock_document({name: [locked_tool(name, t) for t in tools] for name in servers})
        (folder / MCP_LOCK_NAME).write_text(document)
    return path


def doctor(path: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", "-c", str(path), "--no-probe", *options])
    return result.exit_code, result.stdout


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


def test_a_healthy_mcp_server_passes(tmp_path: Path, state: Path) -> None:
    with running_http(state) as url:
        code, out = doctor(write_config(tmp_path, {"faults": {"url": url}}), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["healthy"] is True
    mcp = [c for c in report["tools"]["checks"] if c["subject"] == "mcp server faults"]
    assert [(c["check"], c["ok"]) for c in mcp] == [("reachable", True), ("lock", True)]
    assert "initialize + tools/list" in mcp[0]["detail"]
    count = len(tool_list(FaultOptions(Path("."))))
    assert mcp[1]["detail"] == f"{count} tool(s) match {MCP_LOCK_NAME}"


def test_a_down_server_fails_naming_it(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    code, out = doctor(write_config(tmp_path, {"primary": {"url": url, "connect_timeout_s": 5}}))
    assert code == 1
    assert f"FAIL mcp server primary: reachable: {url}:" in out
    assert "FAIL mcp server primary: lock: not checked: server unreachable" in out
    assert "some tools are unusable" in out


def test_a_drifted_server_fails_naming_the_tool_and_both_digests(
    tmp_path: Path, state: Path
) -> None:
    argv = command(state, drift=True)
    path = write_config(tmp_path, {"faults": {"command": argv[0], "args": argv[1:]}})
    code, out = doctor(path, "--json")
    assert code == 1
    locked = {t.name: t for t in tool_list(FaultOptions(Path(".")))}["echo"]
    served = {t.name: t for t in tool_list(FaultOptions(Path("."), drift=True))}["echo"]
    old = schema_digest(locked.inputSchema, locked.outputSchema)[:16]
    new = schema_digest(served.inputSchema, served.outputSchema)[:16]
    failed = [c for c in json.loads(out)["tools"]["checks"] if not c["ok"]]
    assert [(c["subject"], c["check"]) for c in failed] == [("mcp server faults", "lock")]
    assert f"tool echo schema drift: locked sha256 {old}, served {new}" in failed[0]["detail"]


def test_a_server_missing_from_the_lock_fails(tmp_path: Path, state: Path) -> None:
    argv = command(state)
    path = write_config(tmp_path, {"faults": {"command": argv[0], "args": argv[1:]}}, lock=False)
    code, out = doctor(path)
    assert code == 1
    assert "FAIL mcp server faults: lock: not in" in out
    assert "agentkit tools lock -c agentkit.yaml" in out


def test_without_mcp_servers_the_section_says_none_configured(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text("telemetry: {}\n")
    code, out = doctor(path)
    assert code == 0, out
    assert "mcp servers: none configured" in out
    assert "ok   tool dr_advisor@2: implementation: registered" in out
    code, out = doctor(path, "--json")
    assert json.loads(out)["tools"]["mcp_servers"] == "none configured"


def test_local_contracts_load_match_the_lock_and_have_an_implementation(tmp_path: Path) -> None:
    write_tool(tmp_path, "plan", "1.0.0")
    write_tool(tmp_path, "orphan", "1.0.0")
    contracts = load_contracts(tmp_path)
    lock = {key: lock_entry(c) for key, c in contracts.items()}
    write_tool(tmp_path, "plan", "1.0.0", response={"type": "object"})  # changed, no bump
    broken = tmp_path / "broken" / "v1"
    broken.mkdir(parents=True)
    (broken / "manifest.yaml").write_text("name: broken\nversion: 1.0.0\n")
    (tmp_path / LOCK_NAME).write_text(json.dumps(lock))
    checks = {(c.subject, c.check): c for c in check_contracts(tmp_path, {"plan"})}
    assert not checks[("tool broken@1", "loads")].ok
    assert "side_effect is missing" in checks[("tool broken@1", "loads")].detail
    assert checks[("tool orphan@1", "lock")].ok
    orphan = checks[("tool orphan@1", "implementation")]
    assert not orphan.ok
    assert "no implementation registered for orphan" in orphan.detail
    plan = checks[("tool plan@1", "lock")]
    assert not plan.ok
    assert "schemas changed without a version bump" in plan.detail
    assert checks[("tool plan@1", "implementation")].ok


def test_a_url_with_credentials_is_masked(tmp_path: Path) -> None:
    url = f"http://user:s3cret@127.0.0.1:{closed_port()}/mcp"
    code, out = doctor(write_config(tmp_path, {"primary": {"url": url}}))
    assert code == 1
    assert "s3cret" not in out
    assert "reachable: http://***@127.0.0.1:" in out
