"""`agentkit mcp serve --transport http`: a separate process, driven by the official client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from jsonschema import Draft202012Validator
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

from tests.serve.test_mcp import REQUEST
from tests.tools.test_capabilities import ARCHITECTURE, CAPACITY

ANNOUNCE = "agentkit MCP server (Streamable HTTP) at "


@pytest.fixture
def server_url() -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "--transport", "http", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the socket is bound
        assert line.startswith(ANNOUNCE), line
        yield line.removeprefix(ANNOUNCE).strip()
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


async def _session(url: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    with anyio.fail_after(120):
        async with (
            streamable_http_client(url) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return listed, results


def test_an_http_client_lists_and_calls_every_tool(server_url: str, tmp_path: Path) -> None:
    assert server_url.startswith("http://127.0.0.1:")
    assert server_url.endswith("/mcp")
    calls = [
        ("dr_advisor", REQUEST),
        ("failover_runbook", {"strategy": "pilot_light", "max_runbooks": 1}),
        ("fmea_generate", {"architecture_path": str(ARCHITECTURE), "out_dir": str(tmp_path)}),
        ("capacity_plan", {"capacity": CAPACITY}),
        ("capacity_plan", {}),
    ]
    listed, results = anyio.run(_session, server_url, calls)
    tools: dict[str, types.Tool] = {tool.name: tool for tool in listed.tools}
    assert {"dr_advisor", "failover_runbook", "fmea_generate", "capacity_plan"} <= set(tools)
    for (name, _), result in zip(calls[:4], results[:4], strict=True):
        assert result.isError is False, (name, result.content)
        schema = tools[name].outputSchema
        assert schema is not None
        assert list(Draft202012Validator(schema).iter_errors(result.structuredContent)) == []
    assert results[0].structuredContent["strategy"] == "warm_standby"
    assert (tmp_path / "fmea.json").is_file()
    assert results[4].isError is True
    assert "give config_path or capacity" in results[4].content[0].text


def test_a_foreign_host_header_is_refused(server_url: str) -> None:
    """DNS rebinding protection: a page on another name cannot reach the local server."""
    response = httpx.post(
        server_url,
        headers={
            "Host": "attacker.example",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        timeout=30,
    )
    assert response.status_code == 421


def test_a_taken_port_is_one_line(server_url: str) -> None:
    port = server_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0]
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "--transport", "http", "--port", port],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"agentkit: error: cannot listen on 127.0.0.1:{port}: ")
    assert "pick another --port" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])
def test_a_host_other_than_loopback_is_refused_in_one_line(host: str) -> None:
    # No authentication, and its tools write files: the network never reaches it directly.
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "--transport", "http", "--host", host],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"--host {host}: agentkit mcp serve listens on loopback only" in done.stderr
    assert "Traceback" not in done.stderr
