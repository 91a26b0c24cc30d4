"""``capacity.tools``: Little's law per tool against its bulkhead, its MCP server and Lambda.

The worked example's model RPM is 60 (C = 20 threads, d = 20 s per call), so a tool called
once per model request is called 1.0 time per second. Packaged limits: fmea_generate's manifest
says max_concurrent 2; dr_advisor keeps the default 4.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli.app import main
from agentkit.emulator.mcp_faults import FaultOptions, tool_list
from agentkit.tools.mcp_client import MCP_LOCK_NAME, lock_document, locked_tool
from tests.capacity.inputs import worked_example


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def with_tools(write_config: Any, tools: dict[str, Any], **document: Any) -> Path:
    path: Path = write_config({"capacity": worked_example(tools=tools), **document})
    return path


def test_headroom_per_tool_in_json(capsys: pytest.CaptureFixture[str], write_config: Any) -> None:
    path = with_tools(
        write_config,
        {
            # 0.5 x 60 RPM / 60 = 0.5 calls/s; x 2 s = 1.0 of 2: headroom 1 - 1/2 = 0.5
            "fmea_generate": {"calls_per_request": 0.5, "duration_s": 2},
            # 2 calls/s x 1.5 s = 3.0 of 4: headroom 0.25; Lambda 10: 1 - 3/10 = 0.7
            "dr_advisor": {"calls_per_second": 2, "duration_s": 1.5, "lambda_concurrency": 10},
        },
    )
    code, out, _ = run(capsys, "-c", str(path), "--json")
    assert code == 0, out
    rows = {r["domain"]: r for r in json.loads(out)["tools"]}
    fmea, dr = rows["tool fmea_generate"], rows["tool dr_advisor"]
    assert fmea["calls_per_second"] == pytest.approx(0.5)
    assert fmea["needed_concurrency"] == pytest.approx(1.0)
    assert (fmea["max_concurrent"], fmea["headroom"], fmea["ok"]) == (2, pytest.approx(0.5), True)
    assert fmea["lambda_concurrency"] is None
    assert dr["needed_concurrency"] == pytest.approx(3.0)
    assert (dr["max_concurrent"], dr["headroom"]) == (4, pytest.approx(0.25))
    assert (dr["lambda_concurrency"], dr["lambda_headroom"]) == (10, pytest.approx(0.7))
    assert dr["ok"] is True


def test_a_shortfall_exits_3_naming_the_tool(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    # 1 call/s x 1.8 s = 1.8 of 2: headroom 0.1, below the 0.2 safety margin
    path = with_tools(write_config, {"fmea_generate": {"calls_per_second": 1, "duration_s": 1.8}})
    code, out, err = run(capsys, "-c", str(path))
    assert code == 3
    assert "tool fmea_generate [fmea_generate]: 1.00 calls/s, needs 1.8 of max_concurrent 2" in out
    assert "(headroom 10%, margin 20%)   SHORT" in out
    assert "tool fmea_generate: needs 1.8 concurrent calls at peak, max_concurrent 2" in err
    assert "Traceback" not in err


def test_peak_factor_scales_the_need_and_lambda_concurrency_is_a_second_limit(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    # peak 1.5 x 1 call/s x 1 s = 1.5; max_concurrent 4: headroom 0.625; Lambda 2: 0.25
    section = worked_example(
        peak_factor=1.5,
        tools={"dr_advisor": {"calls_per_request": 1, "duration_s": 1, "lambda_concurrency": 2}},
    )
    path = write_config({"capacity": section})
    code, out, _ = run(capsys, "-c", str(path), "--json")
    assert code == 0
    (row,) = json.loads(out)["tools"]
    assert row["needed_concurrency"] == pytest.approx(1.5)
    assert row["headroom"] == pytest.approx(0.625)
    assert row["lambda_headroom"] == pytest.approx(0.25)
    # Lambda 1 leaves 1 - 1.5 / 1 = -0.5: short on Lambda alone
    section["tools"]["dr_advisor"]["lambda_concurrency"] = 1
    path = write_config({"capacity": section})
    code, _, err = run(capsys, "-c", str(path))
    assert code == 3
    assert "tool dr_advisor: needs 1.5 concurrent Lambda executions, lambda_concurrency 1" in err
    assert "max_concurrent" not in err  # the bulkhead itself has room


def test_tools_of_one_mcp_server_share_its_limit(
    capsys: pytest.CaptureFixture[str], write_config: Any, tmp_path: Path
) -> None:
    tools = tool_list(FaultOptions(Path(".")))
    (tmp_path / MCP_LOCK_NAME).write_text(
        lock_document({"inventory": [locked_tool("inventory", t) for t in tools]})
    )
    servers = {"inventory": {"url": "http://127.0.0.1:9/mcp", "max_concurrent": 10}}
    # echo 2/s x 1 s + hang 1/s x 3 s = 5 of the server's 10: headroom 0.5
    path = with_tools(
        write_config,
        {
            "echo": {"calls_per_second": 2, "duration_s": 1},
            "hang": {"calls_per_second": 1, "duration_s": 3},
        },
        mcp_servers=servers,
    )
    code, out, _ = run(capsys, "-c", str(path), "--json")
    assert code == 0, out
    (row,) = json.loads(out)["tools"]
    assert row["domain"] == "mcp server inventory"
    assert row["tools"] == ["echo", "hang"]
    assert row["calls_per_second"] == pytest.approx(3.0)
    assert row["needed_concurrency"] == pytest.approx(5.0)
    assert (row["max_concurrent"], row["headroom"]) == (10, pytest.approx(0.5))
    # the server's own name works too; it is the same limit
    path = with_tools(
        write_config,
        {"inventory": {"calls_per_second": 9, "duration_s": 1}},
        mcp_servers=servers,
    )
    code, _, err = run(capsys, "-c", str(path))
    assert code == 3
    assert "mcp server inventory: needs 9.0 concurrent calls at peak, max_concurrent 10" in err


def test_an_unknown_tool_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    path = with_tools(write_config, {"nope": {"calls_per_second": 1, "duration_s": 1}})
    code, _, err = run(capsys, "-c", str(path))
    assert code == 2
    assert "capacity.tools: nope: no tool contract, MCP server or locked MCP tool" in err
    assert "known: capacity_plan, docs_search, dr_advisor" in err
    assert len(err.strip().splitlines()) == 1


def test_a_tool_needs_exactly_one_rate(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    both = {"calls_per_second": 1, "calls_per_request": 1, "duration_s": 1}
    code, _, err = run(capsys, "-c", str(with_tools(write_config, {"dr_advisor": both})))
    assert code == 2
    assert "give either calls_per_request or calls_per_second, not both" in err


def test_without_a_tools_block_nothing_changes(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    path = write_config({"capacity": worked_example()})
    code, out, _ = run(capsys, "-c", str(path), "--json")
    assert code == 0
    assert "tools" not in json.loads(out)
