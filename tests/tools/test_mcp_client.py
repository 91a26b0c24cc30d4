"""The MCP client against the fault-injecting MCP server (agentkit.emulator.mcp_faults).

Loopback only: stdio servers are child processes, HTTP servers listen on a port the OS picks;
every server is stopped at teardown. No wall-clock assertions: timeouts are asserted by the
error they end in, the breaker's reset by an injected clock.
"""

from __future__ import annotations

import json
import operator
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typer.testing import CliRunner

from agentkit.config import AgentkitConfig, McpServerConfig
from agentkit.emulator.mcp_faults import (
    CALLS,
    FaultOptions,
    StandIn,
    command,
    executions,
    running_http,
    stand_in_tools,
    tool_list,
)
from agentkit.errors import (
    BudgetExceeded,
    ConfigError,
    ToolBusy,
    ToolFailed,
    ToolInputInvalid,
    ToolOutputInvalid,
    ToolVersionMismatch,
)
from agentkit.graph import AgentRuntime, RunContext, run_context
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.clock import FakeClock
from agentkit.telemetry import semconv as sc
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
        stand_in=options.pop("stand_in", None),
    )
    return {"command": argv[0], "args": argv[1:], **options}


def lock_of(*servers: str, drift: bool = False) -> dict[str, dict[str, LockedTool]]:
    """The lock the fault server's (undrifted) tool list gives, without starting it."""
    tools = tool_list(FaultOptions(Path("."), drift=drift))
    return {name: {t.name: locked_tool(name, t) for t in tools} for name in servers}


def client(
    servers: dict[str, dict[str, Any]],
    lock: dict[str, dict[str, LockedTool]] | None = None,
    **options: Any,
) -> McpClient:
    configs = {name: McpServerConfig(**spec) for name, spec in servers.items()}
    return McpClient(configs, lock_of(*servers) if lock is None else lock, **options)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for the server's state to say something happened."""
    pause = threading.Event()
    for _ in range(3000):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"never happened: {what}")


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
    counted = json.loads((state / "executions.json").read_text())
    assert counted["count"] == 1
    # The server deduplicates by key, so ``count`` alone cannot catch a client that repeats
    # more than once or changes the key: it saw exactly two calls, the second a repeat.
    assert counted["calls"] == 2
    assert list(counted["keys"]) == ["order-7"]
    attributes = dict(spans.get_finished_spans()[0].attributes or {})
    assert (attributes[ATTEMPTS], attributes[OUTCOME]) == (2, "ok")


CHARGE_TOOL = {
    "name": "charge",
    "description": "Charges a card; the key is optional, so nothing deduplicates without it.",
    "side_effect": "mutating",
    "input": {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "idempotency_key": {"type": "string"}},
        "required": ["amount"],
    },
    "output": {
        "type": "object",
        "properties": {"charged": {"type": "boolean"}},
        "required": ["charged"],
    },
}


def test_a_mutating_call_without_an_idempotency_key_is_never_retried(
    state: Path, tmp_path: Path
) -> None:
    """A stand-in server drops the connection on its first two calls, before the tool runs; it
    counts every call it receives, so the client's retries are seen, not deduplicated."""
    stand_in = StandIn((CHARGE_TOOL,), fault="drop", first=2)
    spec = tmp_path / "stand_in.json"
    spec.write_text(stand_in.to_json())
    lock = {"shop": {t.name: locked_tool("shop", t) for t in stand_in_tools(stand_in)}}
    provider, spans = traced()
    with client({"shop": stdio(state, stand_in=spec, retries=2)}, lock) as mcp:
        registry = registry_with(mcp, provider)
        with pytest.raises(McpTransportFailed, match="charge on mcp server shop: the connection"):
            registry.call("charge", {"amount": 5})
        assert (state / CALLS).read_text() == "1"  # sent once, although retries is 2
        # the same call with a key may be repeated: the second drop is retried, once
        answer = registry.call("charge", {"amount": 5, "idempotency_key": "order-9"})
        assert answer.output == {"charged": False}
        assert (state / CALLS).read_text() == "3"
    assert executions(state)["count"] == 1  # only the third call got past the drop
    unkeyed, keyed = (dict(span.attributes or {}) for span in spans.get_finished_spans())
    assert (unkeyed[ATTEMPTS], unkeyed[OUTCOME]) == (1, "transport")
    assert (keyed[ATTEMPTS], keyed[OUTCOME]) == (2, "ok")


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


# --- the run's budget is the call's deadline ---------------------------------------------------


class Waits(TypedDict, total=False):
    results: Annotated[list[Any], operator.add]


def hang_graph() -> StateGraph[Any, Any, Any, Any]:
    def wait(state: Waits, config: RunnableConfig) -> Waits:
        result = run_context(config).call_tool("hang", {"seconds": 600})
        return {"results": [result.output]}

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(Waits)
    graph.add_node("wait", wait)
    graph.add_edge(START, "wait")
    graph.add_edge("wait", END)
    return graph


def test_a_runs_wall_clock_budget_ends_a_hung_mcp_call(state: Path) -> None:
    """The server's timeout is 600 s and the run's budget 1 s: the run stops as over budget.
    (The call cannot end before the budget does, however loaded the machine, and it ending at
    the server's timeout would fail this test on its per-test timeout.)"""
    with client({"faults": stdio(state, timeout_s=600)}) as mcp:
        registry = ToolRegistry({}, {})
        mcp.register(registry)
        assert mcp.call("echo", {"text": "open"}) == {"text": "open"}  # the session is open
        runtime = AgentRuntime(
            "waiter", hang_graph(), tools=registry, budget_limits=BudgetLimits(wall_clock_s=1.0)
        )
        result = runtime.run({"results": []})
        assert mcp.call("release", {}) == {"text": "released"}  # the same session answers
    assert result.stop_reason == "budget_exceeded:wall_clock_s"
    assert result.tool_calls == ()


def test_an_mcp_calls_deadline_is_what_is_left_of_the_runs_budget(state: Path) -> None:
    clock = FakeClock()
    with client({"faults": stdio(state, timeout_s=600)}, clock=clock) as mcp:
        registry = ToolRegistry({}, {}, clock=clock)
        mcp.register(registry)
        assert mcp.call("echo", {"text": "open"}) == {"text": "open"}  # the session is open
        ctx = RunContext(
            agent="a", budget=RunBudget(BudgetLimits(wall_clock_s=30), clock), tools=registry
        )
        clock.advance(29.5)
        with pytest.raises(McpTimedOut, match=r"^hang on mcp server faults timed out after 0.5 s$"):
            ctx.call_tool("hang", {"seconds": 600})
        clock.advance(0.5)  # the budget is used up: no call is sent
        with pytest.raises(BudgetExceeded, match="wall_clock_s budget exceeded"):
            ctx.call_tool("echo", {"text": "late"})
        assert mcp.call("release", {}) == {"text": "released"}


# --- a server's concurrency limit --------------------------------------------------------------


def test_a_full_server_refuses_at_once_and_another_server_still_answers(
    state: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    served = {t.name: t for t in tool_list(FaultOptions(Path()))}
    lock = {
        "busy": {name: locked_tool("busy", served[name]) for name in ("record", "hang")},
        "idle": {"echo": locked_tool("idle", served["echo"])},
    }
    busy = stdio(state, max_concurrent=1, max_queue=0)
    (state / "hold").touch()  # record counts its call, then waits while this file exists
    with client({"busy": busy, "idle": stdio(other)}, lock) as mcp, ThreadPoolExecutor(1) as pool:
        held = pool.submit(mcp.call, "record", {"idempotency_key": "held"})
        wait_until(lambda: executions(state).get("calls") == 1, "record reached the server")
        with pytest.raises(ToolBusy, match=r"mcp server busy is at its concurrency limit \(1 r"):
            mcp.call("hang", {"seconds": 0})
        assert mcp.call("echo", {"text": "here"}) == {"text": "here"}  # served by idle
        assert mcp.breaker_state("busy") == "closed"  # a refusal says nothing of its health
        (state / "hold").unlink()
        assert held.result(timeout=30) == {"recorded": "held", "execution": 1}
        assert mcp.call("hang", {"seconds": 0}) == {"text": "released"}  # its slot is back


# --- a server's breaker in the metrics ---------------------------------------------------------


def metric_points(reader: InMemoryMetricReader) -> dict[tuple[str, str, frozenset[Any]], Any]:
    """(scope, metric, attributes) -> value, for every point collected now."""
    points = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (
                        scope.scope.name,
                        metric.name,
                        frozenset((point.attributes or {}).items()),
                    )
                    points[key] = getattr(point, "value", None)
    return points


def test_a_servers_breaker_reports_its_state_and_transitions(state: Path) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    spec = stdio(state, breaker={"fail_max": 2, "reset_s": 30})
    (state / "outage").touch()
    with client({"faults": spec}, clock=FakeClock(), meter_provider=meters) as mcp:
        registry = ToolRegistry({}, {}, meter_provider=meters)
        mcp.register(registry)
        closed = metric_points(reader)
        for _ in range(2):
            with pytest.raises(ToolFailed, match="JSON-RPC error -32603: outage"):
                registry.call("outage", {})
        opened = metric_points(reader)
        # the registry keeps no breaker of its own for an MCP tool: its server's is the one
        assert registry.breaker_states() == {}
        assert {s.name: s.breaker for s in registry.status()}["outage"] == "open"
        assert mcp.breaker_states() == {"mcp:faults": "open"}
    server = frozenset({(SERVER, "faults")})
    state_key = ("agentkit.mcp", sc.METRIC_TOOL_BREAKER_STATE, server)
    assert closed == {state_key: 0}
    opening = frozenset({(SERVER, "faults"), (sc.BREAKER_TO, "open")})
    assert opened == {
        state_key: 2,
        ("agentkit.mcp", sc.METRIC_TOOL_BREAKER_TRANSITIONS, opening): 1,
    }
