"""A local game day: your agentkit.yaml's fallback chain against the emulator under a fault plan.

Every route's Region is emulated on loopback, the configuration's endpoints are pointed at it,
and a number of requests go through the real gateway. The report says which Region answered each
request, what was tried first, and what the emulator saw: the proof that failover works before
a real Region fails.

With ``mcp_servers:`` configured, the MCP fault server stands in for each of them (same
transport, on loopback, serving the tools locked in ``mcp.lock.json``) with the fault the plan's
``mcp:`` section names, and each locked tool is called the same number of times through the real
MCP client (deadline, retries, breaker, fallback, hedge). The report says, per tool, how many
calls were answered and by which server, the errors by kind, each server's breaker, and the
executions each stand-in counted.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.config import AgentkitConfig, McpServerConfig
from agentkit.emulator.faults import FaultPlan, McpServerFaults
from agentkit.emulator.server import Emulator
from agentkit.errors import AgentkitError, InputError

if TYPE_CHECKING:
    from agentkit.tools.mcp_client import LockedTool, McpClient

PROMPT = [{"role": "user", "content": [{"text": "Game day: are you there?"}]}]


@dataclass
class RequestOutcome:
    number: int
    region: str | None
    model: str | None
    attempts: list[str]
    error: str | None
    latency_ms: float


@dataclass
class ToolDrill:
    """One MCP tool's calls in a game day."""

    tool: str
    server: str  # the server that serves it first; its fallback may answer
    side_effect: str
    calls: int = 0
    answered_by: dict[str, int] = field(default_factory=dict)  # server -> answers
    errors: dict[str, int] = field(default_factory=dict)  # kind -> calls
    executions: dict[str, int] = field(default_factory=dict)  # server -> counted by its stand-in

    @property
    def answered(self) -> int:
        return sum(self.answered_by.values())


@dataclass
class ServerDrill:
    name: str
    transport: str  # stdio | http
    fault: str | None
    fallback: str | None
    breaker: str = "closed"


@dataclass
class McpDrill:
    servers: list[ServerDrill] = field(default_factory=list)
    tools: list[ToolDrill] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(t.answered for t in self.tools)

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.tools)

    def to_json(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "calls": self.calls,
            "servers": [asdict(s) for s in self.servers],
            "tools": [{**asdict(t), "answered": t.answered} for t in self.tools],
        }


@dataclass
class GameDayReport:
    plan: dict[str, Any]
    outcomes: list[RequestOutcome] = field(default_factory=list)
    calls_by_region: dict[str, int] = field(default_factory=dict)
    breakers: dict[str, str] = field(default_factory=dict)
    mcp: McpDrill | None = None

    @property
    def answered(self) -> int:
        return sum(1 for o in self.outcomes if o.error is None)

    @property
    def passed(self) -> bool:
        """Every model request and every MCP call was answered."""
        everything = self.answered == len(self.outcomes)
        return everything and (self.mcp is None or self.mcp.answered == self.mcp.calls)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "answered": self.answered,
            "requests": len(self.outcomes),
            "outcomes": [o.__dict__ for o in self.outcomes],
            "emulator_calls_by_region": self.calls_by_region,
            "breakers": self.breakers,
            **({"mcp": self.mcp.to_json()} if self.mcp is not None else {}),
        }


def default_plan(config: AgentkitConfig) -> FaultPlan:
    """Without a plan: the first route's Region is down."""
    return FaultPlan.model_validate({"regions": {config.models.routes[0].region: {"down": True}}})


def run_game_day(
    config: AgentkitConfig,
    plan: FaultPlan | None,
    requests: int,
    *,
    mcp_lock: Path | None = None,
) -> GameDayReport:
    """``requests`` model requests, and as many calls of each MCP tool when ``mcp_servers:``
    is configured (their tools from ``mcp_lock``, default ``./mcp.lock.json``)."""
    from agentkit.bedrock.gateway import Gateway

    plan = plan or default_plan(config)
    _check_mcp_plan(config, plan)
    regions = sorted({r.region for r in config.models.routes} | set(plan.regions))
    report = GameDayReport(plan=plan.model_dump(mode="json", exclude_defaults=True))
    if config.mcp_servers:
        report.mcp = run_mcp_drill(config.mcp_servers, plan.mcp, requests, _lock(mcp_lock))
    with Emulator(regions, plan=plan) as emulator:
        models = config.models.model_copy(update={"endpoints": emulator.endpoints})
        gateway = Gateway.from_config(config.model_copy(update={"models": models}))
        try:
            for number in range(1, requests + 1):
                report.outcomes.append(_one(gateway, number))
            report.breakers = gateway.breaker_states()
        finally:
            gateway.close()
        report.calls_by_region = dict(sorted(Counter(c.region for c in emulator.calls()).items()))
    return report


def _one(gateway: Any, number: int) -> RequestOutcome:
    started = time.perf_counter()
    try:
        response = gateway.converse(messages=PROMPT, max_tokens=64)
    except AgentkitError as error:
        attempts = getattr(error, "attempts", [])
        return RequestOutcome(
            number,
            None,
            None,
            [_describe(a) for a in attempts],
            f"{type(error).__name__}: {error}",
            _ms(started),
        )
    return RequestOutcome(
        number,
        response.region,
        response.model,
        [_describe(a) for a in response.attempts],
        None,
        _ms(started),
    )


def _describe(attempt: Any) -> str:
    return f"{attempt.region}:{attempt.error_code or attempt.outcome}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


# --- MCP servers ---------------------------------------------------------------------------------


def _check_mcp_plan(config: AgentkitConfig, plan: FaultPlan) -> None:
    unknown = sorted(set(plan.mcp) - set(config.mcp_servers))
    if unknown:
        known = ", ".join(sorted(config.mcp_servers)) or "none: add an mcp_servers: block"
        raise InputError(f"mcp.{unknown[0]}: no such server in mcp_servers; known: {known}")


def _lock(path: Path | None) -> Path:
    from agentkit.tools.mcp_client import MCP_LOCK_NAME

    return path if path is not None else Path(MCP_LOCK_NAME)


def run_mcp_drill(
    servers: dict[str, McpServerConfig],
    faults: dict[str, McpServerFaults],
    calls: int,
    lock_path: Path,
) -> McpDrill:
    """Stand the fault server in for each server, call each locked tool ``calls`` times."""
    from agentkit.emulator.mcp_faults import executions_by_tool
    from agentkit.tools.mcp_client import McpClient, locked_servers

    lock = locked_servers(servers, lock_path, before="a game day")
    drill = McpDrill(
        [
            ServerDrill(
                name,
                "stdio" if server.command is not None else "http",
                faults[name].fault if name in faults else None,
                server.fallback,
            )
            for name, server in servers.items()
        ]
    )
    with tempfile.TemporaryDirectory(
        prefix="agentkit-gameday-mcp-", ignore_cleanup_errors=True
    ) as folder:
        states = {name: Path(folder) / name for name in servers}
        with contextlib.ExitStack() as stack:
            stand_ins = {
                name: _stand_in(stack, name, servers[name], faults.get(name), lock[name], states)
                for name in servers
            }
            client = McpClient(stand_ins, {name: lock[name] for name in servers})
            stack.callback(client.close)
            drill.tools = [ToolDrill(t.name, t.server, t.side_effect) for t in client.tools()]
            for number in range(1, calls + 1):  # in rounds, as an agent would call them
                for tool in drill.tools:
                    _call_once(client, tool, number)
            for server in drill.servers:
                server.breaker = client.breaker_state(server.name)
        for name, state in states.items():
            for tool_name, count in executions_by_tool(state).items():
                for tool in drill.tools:
                    if tool.tool == tool_name:
                        tool.executions[name] = count
    return drill


def _stand_in(
    stack: contextlib.ExitStack,
    name: str,
    server: McpServerConfig,
    faults: McpServerFaults | None,
    locked: dict[str, LockedTool],
    states: dict[str, Path],
) -> McpServerConfig:
    """``server`` with the fault server in its place (its own limits, breaker and fallback)."""
    from agentkit.emulator.mcp_faults import StandIn, command, running_http

    faults = faults or McpServerFaults()
    stdio = server.command is not None
    if faults.fault == "down":
        if stdio:  # a server command that exits before it speaks
            down = [sys.executable, "-c", "raise SystemExit(1)"]
            return server.model_copy(
                update={"command": down[0], "args": tuple(down[1:]), "env": {}}
            )
        return server.model_copy(update={"url": f"http://127.0.0.1:{_closed_port()}/mcp"})
    state = states[name]
    state.mkdir()
    spec = StandIn(
        tools=tuple(
            {
                "name": tool.name,
                "description": tool.description,
                "side_effect": tool.side_effect,
                "input": tool.input_schema,
                "output": tool.output_schema,
            }
            for tool in locked.values()
        ),
        fault=faults.fault,
        code=faults.code,
        first=faults.first,
        hang_s=faults.hang_s,
    )
    path = state / "stand-in.json"
    path.write_text(spec.to_json())
    if stdio:
        argv = command(state, stand_in=path)
        return server.model_copy(update={"command": argv[0], "args": tuple(argv[1:]), "env": {}})
    url = stack.enter_context(running_http(state, stand_in=path))
    return server.model_copy(update={"url": url})


def _call_once(client: McpClient, drill: ToolDrill, number: int) -> None:
    """Call the tool once with the smallest input its schema accepts; count the outcome."""
    from agentkit.emulator.mcp_faults import example
    from agentkit.tools.contracts import IDEMPOTENCY_KEY
    from agentkit.tools.mcp_client import OUTCOME, SERVER
    from agentkit.tools.mcp_hedge import Recorder

    schema = client.tool(drill.tool).input_schema
    request = example(schema)
    payload = dict(request) if isinstance(request, dict) else {}
    if IDEMPOTENCY_KEY in schema.get("properties", {}):
        payload[IDEMPOTENCY_KEY] = f"gameday-{drill.tool}-{number}"
    span = Recorder()
    drill.calls += 1
    try:
        client.call(drill.tool, payload, span=span)
    except AgentkitError as error:
        kind = str(span.attributes.get(OUTCOME) or type(error).__name__)
        drill.errors[kind] = drill.errors.get(kind, 0) + 1
        return
    server = str(span.attributes[SERVER])
    drill.answered_by[server] = drill.answered_by.get(server, 0) + 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
