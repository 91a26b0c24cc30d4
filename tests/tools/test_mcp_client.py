"""The MCP client against the fault-injecting MCP server (agentkit.emulator.mcp_faults).

Loopback only: stdio servers are child processes, HTTP servers listen on a port the OS picks;
every server is stopped at teardown. No wall-clock assertions: timeouts are asserted by the
error they end in, the breaker's reset by an injected clock.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typer.testing import CliRunner

from agentkit.config import AgentkitConfig, McpServerConfig
from agentkit.emulator.mcp_faults import (
    FaultOptions,
    command,
    executions,
    running_http,
    tool_list,
)
from agentkit.errors import (
    ConfigError,
    ToolFailed,
    ToolInputInvalid,
    ToolOutputInvalid,
    ToolVersionMismatch,
)
from agentkit.resilience.clock import FakeClock
from agentkit.tools.contracts import ToolContract
from agentkit.tools.mcp_client import (
    ATTEMPTS,
    OUTCOME,
    SERVER,
    LockedTool,
    McpClient,
    McpTimedOut,
    McpToolError,
    McpTransportFailed,
    locked_tool,
    schema_digest,
)
from agentkit.tools.registry import ToolRegistry


def stdio(state: Path, **options: Any) -> dict[str, Any]:
    argv = command(
        state,
        drift=options.pop("drift", False),
        drop_after_record=options.pop("drop_after_record", False),
    )
    return {"command": argv[0], "args": argv[1:], **options}


def lock_of(*servers: str, drift: bool = False) -> dict[str, dict[str, LockedTool]]:
    """The lock the fault server's (undrifted) tool list gives, without starting it."""
    tools = tool_list(FaultOptions(Path("."), drift=drift))
    return {name: {t.name: locked_tool(name, t) for t in tools} for name in servers}


def client(servers: dict[str, dict[str, Any]], **options: Any) -> McpClient:
    configs = {name: McpServerConfig(**spec) for name, spec in servers.items()}
    return McpClient(configs, lock_of(*servers), **options)


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


def registry_with(mcp: McpClient, provider: TracerProvider) -> ToolRegistry:
    registry = ToolRegistry({}, {}, tracer_provider=provider)
    mcp.register(registry)
    return registry


def one_span(spans: InMemorySpanExporter) -> ReadableSpan:
    (span,) = spans.get_finished_spans()
    return span


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def http_url(state: Path) -> Iterator[str]:
    with running_http(state) as url:
        yield url


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_down_server_sends_the_call_to_its_fallback(http_url: str) -> None:
    provider, spans = traced()
    down = {"url": f"http://127.0.0.1:{closed_port()}/mcp", "fallback": "backup", "retries": 1}
    with client({"primary": down, "backup": {"url": http_url}}) as mcp:
        registry = registry_with(mcp, provider)
        result = registry.call("echo", {"text": "hello"})
        assert result.output == {"text": "hello"}
        assert mcp.breaker_state("primary") == "closed"  # two failures, fail_max 3
    span = one_span(spans)
    assert span.name == "execute_tool echo"
    attributes = dict(span.attributes or {})
    assert (attributes[SERVER], attributes[OUTCOME], attributes[ATTEMPTS]) == ("backup", "ok", 1)
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert [e for e in events if e[0] == "agentkit.mcp.attempt"] == [
        ("agentkit.mcp.attempt", {"server": "primary", "attempt": 1, "outcome": "transport"}),
        ("agentkit.mcp.attempt", {"server": "primary", "attempt": 2, "outcome": "transport"}),
        ("agentkit.mcp.attempt", {"server": "backup", "attempt": 1, "outcome": "ok"}),
    ]
    assert (
        "agentkit.tool.fallback",
        {"from": "primary", "to": "backup", "reason": "McpUnreachable"},
    ) in events


def test_a_mutating_call_to_a_down_server_was_never_sent_so_the_fallback_runs_it(
    state: Path,
) -> None:
    down = {"url": f"http://127.0.0.1:{closed_port()}/mcp", "fallback": "backup", "retries": 0}
    with client({"primary": down, "backup": stdio(state)}) as mcp:
        answer = mcp.call("record", {"idempotency_key": "k", "note": "once"})
    assert answer == {"recorded": "once", "execution": 1}
    assert executions(state)["count"] == 1


def test_a_hung_call_ends_at_its_timeout_and_the_session_is_reused(state: Path) -> None:
    with client({"faults": stdio(state, timeout_s=30)}) as mcp:
        # the caller's budget (a run's remaining deadline) shortens the server's timeout_s
        with pytest.raises(McpTimedOut, match=r"hang on mcp server faults timed out after 0.5 s"):
            mcp.call("hang", {"seconds": 600}, timeout_s=0.5)
        assert mcp.call("release", {}) == {"text": "released"}  # the same session answers
        assert mcp.call("echo", {"text": "still here"}) == {"text": "still here"}


def test_invalid_params_is_one_attempt_and_trips_nothing(state: Path) -> None:
    provider, spans = traced()
    breaker = {"fail_max": 1, "reset_s": 60}
    with client({"faults": stdio(state, breaker=breaker)}) as mcp:
        registry = registry_with(mcp, provider)
        with pytest.raises(ToolInputInvalid, match="invalid_params on mcp server faults: invalid"):
            registry.call("invalid_params", {})
        assert mcp.breaker_state("faults") == "closed"
        assert mcp.call("echo", {"text": "ok"}) == {"text": "ok"}
    span = spans.get_finished_spans()[0]
    attributes = dict(span.attributes or {})
    assert (attributes[ATTEMPTS], attributes[OUTCOME]) == (1, "invalid_params")
    assert attributes["error.type"] == "ToolInputInvalid"


def test_method_not_found_is_a_contract_error_that_trips_nothing(state: Path) -> None:
    with client({"faults": stdio(state, breaker={"fail_max": 1, "reset_s": 60})}) as mcp:
        with pytest.raises(ToolVersionMismatch, match="vanish on mcp server faults: method not"):
            mcp.call("vanish", {})
        assert mcp.breaker_state("faults") == "closed"


def test_the_breaker_opens_at_its_threshold_and_closes_after_a_half_open_success(
    state: Path,
) -> None:
    clock = FakeClock()
    spec = stdio(state, breaker={"fail_max": 2, "reset_s": 30})
    (state / "outage").touch()
    with client({"faults": spec}, clock=clock) as mcp:
        for _ in range(2):
            with pytest.raises(ToolFailed, match="JSON-RPC error -32603: outage"):
                mcp.call("outage", {})
        assert mcp.breaker_state("faults") == "open"
        (state / "outage").unlink()  # the server is healthy again, but the breaker is open
        with pytest.raises(ToolFailed, match="circuit open for route mcp:faults"):
            mcp.call("outage", {})
        clock.advance(31)  # past reset_s: one probe goes through
        assert mcp.call("outage", {}) == {"text": "ok"}
        assert mcp.breaker_state("faults") == "closed"


def test_schema_drift_is_refused_naming_the_tool_and_both_digests(state: Path) -> None:
    locked = lock_of("faults")["faults"]["echo"].sha256
    served = next(t for t in tool_list(FaultOptions(state, drift=True)) if t.name == "echo")
    drifted = schema_digest(served.inputSchema, served.outputSchema)
    with client({"faults": stdio(state, drift=True)}) as mcp:
        with pytest.raises(ToolVersionMismatch) as caught:
            mcp.call("echo", {"text": "hi"})
        assert mcp.breaker_state("faults") == "closed"
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("mcp server faults: tool echo schema drift: ")
    assert f"locked sha256 {locked[:16]}, served {drifted[:16]}" in message


def test_a_mutating_tool_executes_once_under_a_transport_retry(state: Path) -> None:
    provider, spans = traced()
    with client({"faults": stdio(state, drop_after_record=True)}) as mcp:
        registry = registry_with(mcp, provider)
        result = registry.call("record", {"idempotency_key": "order-7", "note": "charge"})
        assert result.output == {"recorded": "charge", "execution": 1}
        assert (state / "dropped").exists()  # the first process ended after the side effect
        assert mcp.call("count", {}) == {"executions": 1}
    assert json.loads((state / "executions.json").read_text())["count"] == 1
    attributes = dict(spans.get_finished_spans()[0].attributes or {})
    assert (attributes[ATTEMPTS], attributes[OUTCOME]) == (2, "ok")


def test_a_dropped_read_only_call_is_retried_on_a_new_session_then_fails(state: Path) -> None:
    provider, spans = traced()
    with client({"faults": stdio(state, retries=1)}) as mcp:
        registry = registry_with(mcp, provider)
        with pytest.raises(McpTransportFailed, match="drop on mcp server faults: the connection"):
            registry.call("drop", {})
        assert mcp.call("echo", {"text": "back"}) == {"text": "back"}  # a third process
    attributes = dict(spans.get_finished_spans()[0].attributes or {})
    assert (attributes[ATTEMPTS], attributes[OUTCOME]) == (2, "transport")


def test_a_mutating_call_is_not_sent_to_the_fallback_once_it_may_have_run(
    state: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    primary = stdio(state, drop_after_record=True, retries=0, fallback="backup")
    with (
        client({"primary": primary, "backup": stdio(other)}) as mcp,
        pytest.raises(ToolFailed, match="record is mutating and may have run"),
    ):
        mcp.call("record", {"idempotency_key": "k"})
    assert not (other / "executions.json").exists()


def test_an_is_error_result_is_a_tool_error_not_an_outage(state: Path) -> None:
    provider, spans = traced()
    with client({"faults": stdio(state, breaker={"fail_max": 1, "reset_s": 60})}) as mcp:
        registry = registry_with(mcp, provider)
        with pytest.raises(McpToolError) as caught:
            registry.call("fail", {})
        assert "the tool could not do it" in str(caught.value)
        assert caught.value.content[0]["type"] == "text"
        assert mcp.breaker_state("faults") == "closed"
    attributes = dict(spans.get_finished_spans()[0].attributes or {})
    assert (attributes[ATTEMPTS], attributes[OUTCOME]) == (1, "tool_error")


def test_invalid_structured_content_is_refused(state: Path) -> None:
    with (
        client({"faults": stdio(state)}) as mcp,
        pytest.raises(ToolOutputInvalid, match=r"bad_output returned an invalid response"),
    ):
        mcp.call("bad_output", {})


def test_requests_are_validated_before_they_are_sent(state: Path) -> None:
    with (
        client({"faults": stdio(state)}) as mcp,
        pytest.raises(ToolInputInvalid, match=r"echo input invalid: \$: 'text' is a requ"),
    ):
        mcp.call("echo", {})


def test_mcp_tools_become_contracts_with_their_side_effect_class() -> None:
    with client({"faults": {"url": "http://127.0.0.1:9/mcp"}}) as mcp:
        contract = mcp.contract("record")
    assert isinstance(contract, ToolContract)
    assert (contract.side_effect, contract.mutating, contract.version) == (
        "mutating",
        True,
        "0.0.0",
    )
    assert contract.request_schema["required"] == ["idempotency_key"]


def test_the_config_block_names_a_known_fallback_and_one_transport() -> None:
    with pytest.raises(ValueError, match=r"mcp_servers.a.fallback: no server 'b'; known: a"):
        AgentkitConfig.model_validate(
            {"mcp_servers": {"a": {"url": "http://x/mcp", "fallback": "b"}}}
        )
    with pytest.raises(ValueError, match="set either command"):
        McpServerConfig.model_validate({"command": "x", "url": "http://x/mcp"})


def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(ConfigError, match=r"pip install 'agentkit-bedrock\[mcp\]'"):
        McpClient({"a": McpServerConfig(url="http://127.0.0.1:9/mcp")}, {})


def test_tools_lock_list_show_and_call_with_a_config(state: Path, tmp_path: Path) -> None:
    from agentkit.cli.app import app

    argv = command(state)
    config = tmp_path / "agentkit.yaml"
    config.write_text(
        "mcp_servers:\n  faults:\n"
        f"    command: {json.dumps(argv[0])}\n    args: {json.dumps(argv[1:])}\n"
    )
    runner = CliRunner()
    missing = runner.invoke(app, ["tools", "list", "-c", str(config)])
    assert isinstance(missing.exception, ConfigError)  # one line, exit 2, from agentkit's main
    assert "mcp_servers faults: not in " in str(missing.exception)
    assert "agentkit tools lock -c agentkit.yaml" in str(missing.exception)

    locked = runner.invoke(app, ["tools", "lock", "-c", str(config)])
    assert locked.exit_code == 0, locked.output
    lock = json.loads((tmp_path / "mcp.lock.json").read_text())
    assert lock["servers"]["faults"]["record"]["side_effect"] == "mutating"

    listed = runner.invoke(app, ["tools", "list", "-c", str(config)])
    assert listed.exit_code == 0, listed.output
    assert "echo" in listed.output
    assert "dr_advisor" in listed.output

    shown = runner.invoke(app, ["tools", "show", "echo", "-c", str(config)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["mcp_server"] == "faults"

    request = tmp_path / "echo.json"
    request.write_text(json.dumps({"text": "from the CLI"}))
    called = runner.invoke(
        app, ["tools", "call", "echo", "--input", str(request), "-c", str(config)]
    )
    assert called.exit_code == 0, called.output
    assert json.loads(called.output) == {"text": "from the CLI"}
