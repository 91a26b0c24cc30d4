"""`agentkit mcp serve` over stdio, driven by the official MCP client as an assistant would."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from jsonschema import Draft202012Validator
from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.memory import create_connected_server_and_client_session

from agentkit.tools.contracts import load_contracts
from agentkit.tools.registry import ToolRegistry
from tests.tools.conftest import RESPONSE, write_tool
from tests.tools.test_capabilities import ARCHITECTURE, CAPACITY
from tests.tools.test_side_effects import CHARGE

REQUEST = {
    "workload": "payments-api",
    "rto_minutes": 15,
    "rpo_minutes": 1,
    "primary_region": "eu-west-1",
    "residency": ["eu"],
    "data_stores": [{"name": "orders", "type": "aurora"}],
}


async def session_calls(calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentkit", "mcp", "serve"], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return listed, results


def run(calls: list[tuple[str, dict[str, Any]]]) -> tuple[types.ListToolsResult, list[Any]]:
    async def main() -> tuple[Any, list[Any]]:
        with anyio.fail_after(60):
            return await session_calls(calls)

    return anyio.run(main)


def test_the_versioned_tools_are_listed_with_schemas_and_annotations() -> None:
    listed, _ = run([])
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == {
        "dr_advisor",
        "failover_runbook",
        "fmea_generate",
        "capacity_plan",
        "knowledge_search",
        "docs_search",
    }
    for tool in tools.values():
        assert tool.inputSchema["type"] == "object"
        assert tool.outputSchema is not None
        assert tool.outputSchema["type"] == "object"
    advisor = tools["dr_advisor"]
    assert advisor.inputSchema["required"] == ["workload", "rto_minutes", "rpo_minutes"]
    assert advisor.outputSchema is not None
    assert "strategy" in advisor.outputSchema["properties"]
    assert advisor.annotations is not None
    assert advisor.annotations.readOnlyHint is True
    assert advisor.annotations.idempotentHint is True
    assert advisor.title is not None
    assert advisor.title.startswith("dr_advisor v2.")  # the contract version


def test_a_call_returns_the_validated_structured_result() -> None:
    _, (result,) = run([("dr_advisor", REQUEST)])
    assert result.isError is False
    advice = result.structuredContent
    assert advice["strategy"] == "warm_standby"
    assert advice["target_regions"][0] in {"eu-west-3", "eu-central-1", "eu-north-1"}


def test_each_capability_answers_with_content_its_output_schema_accepts(tmp_path: Path) -> None:
    calls = [
        ("dr_advisor", REQUEST),
        ("failover_runbook", {"strategy": "warm_standby", "max_runbooks": 2}),
        ("fmea_generate", {"architecture_path": str(ARCHITECTURE), "out_dir": str(tmp_path)}),
        ("capacity_plan", {"capacity": CAPACITY}),
    ]
    listed, results = run(calls)
    schemas = {tool.name: tool.outputSchema for tool in listed.tools}
    for (name, _), result in zip(calls, results, strict=True):
        assert result.isError is False, (name, result.content)
        errors = list(Draft202012Validator(schemas[name]).iter_errors(result.structuredContent))
        assert errors == [], name
    assert results[2].structuredContent["gate"]["result"] == "failed"
    assert (tmp_path / "fmea.md").is_file()
    assert results[3].structuredContent["regions"][0]["rpm"] == 60


def test_bad_input_is_a_tool_error_that_names_the_problem() -> None:
    bad = {**REQUEST, "primary_region": "us-east-1"}  # outside the EU residency
    _, (outside, missing) = run([("dr_advisor", bad), ("dr_advisor", {"workload": "x"})])
    assert outside.isError is True
    assert "primary Region us-east-1 is outside the residency" in outside.content[0].text
    assert missing.isError is True
    assert "is a required property" in missing.content[0].text


def test_annotations_follow_each_side_effect_class(tmp_path: Path) -> None:
    from agentkit.serve.mcp import build_server

    write_tool(tmp_path, "look", "1.0.0")
    write_tool(tmp_path, "put", "1.0.0", side_effect="idempotent")
    write_tool(tmp_path, "charge", "1.0.0", CHARGE, RESPONSE, side_effect="mutating")
    registry = ToolRegistry(load_contracts(tmp_path), {})

    async def main() -> types.ListToolsResult:
        server = build_server(registry)
        async with create_connected_server_and_client_session(server) as session:
            return await session.list_tools()

    listed = anyio.run(main)
    hints = {
        tool.name: (
            tool.annotations.readOnlyHint,
            tool.annotations.idempotentHint,
            tool.annotations.destructiveHint,
        )
        for tool in listed.tools
        if tool.annotations is not None
    }
    assert hints == {
        "look": (True, True, False),
        "put": (False, True, False),
        "charge": (False, False, True),
    }
