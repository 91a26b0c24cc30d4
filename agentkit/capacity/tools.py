"""Tool concurrency by Little's law: calls per second x p99 duration against each tool's limit.

Every entry of ``capacity.tools`` names a local tool contract (its manifest's
``max_concurrent``), an MCP server of ``mcp_servers:`` (the server's ``max_concurrent``) or a
tool recorded for one in ``mcp.lock.json`` (its server's limit, shared by every tool of that
server: their needs add up). The rate is ``calls_per_second``, or ``calls_per_request`` x the
model RPM / 60; both are averages, multiplied by ``peak_factor``:

    needed = peak_factor x calls/s x duration_s
    headroom = 1 - needed / limit

and the verdict is ok when the headroom is at least ``safety_margin``, as for the Regions. A
Lambda-backed tool's ``lambda_concurrency`` (reserved, or the account's unreserved concurrency)
is a second limit checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.capacity.config import CapacityConfig
from agentkit.config import McpServerConfig
from agentkit.errors import ConfigError


@dataclass(frozen=True)
class Limit:
    """Where a tool's calls queue: its own bulkhead, or its MCP server's."""

    domain: str  # "tool NAME" or "mcp server NAME"
    max_concurrent: int


@dataclass(frozen=True)
class ToolFigures:
    domain: str
    tools: tuple[str, ...]
    calls_per_second: float  # average, summed over the domain's tools
    needed: float  # peak_factor x calls/s x duration, summed
    max_concurrent: int
    headroom: float
    lambda_concurrency: int | None  # summed Lambda limits of its tools, when all give one
    lambda_headroom: float | None
    ok: bool


def tool_limits(
    contracts_root: Path,
    servers: Mapping[str, McpServerConfig],
    mcp_lock: Path,
) -> dict[str, Limit]:
    """Every name a ``capacity.tools`` entry may use, with the limit its calls queue for."""
    from agentkit.tools.contracts import load_contracts
    from agentkit.tools.mcp_client import read_mcp_lock

    limits: dict[str, Limit] = {}
    for contract in sorted(load_contracts(contracts_root).values(), key=lambda c: c.major):
        # the newest major wins: it is the one a call without a major reaches
        limits[contract.name] = Limit(f"tool {contract.name}", contract.bulkhead.max_concurrent)
    lock = read_mcp_lock(mcp_lock) if servers else {}
    for server, config in servers.items():
        limit = Limit(f"mcp server {server}", config.max_concurrent)
        for tool in lock.get(server, {}):
            limits.setdefault(tool, limit)
        limits.setdefault(server, limit)
    return limits


def tool_figures(
    config: CapacityConfig, rpm: float, limits: Mapping[str, Limit]
) -> tuple[ToolFigures, ...]:
    """One row per limit the configured tools share, in the order they first appear."""
    unknown = [name for name in config.tools if name not in limits]
    if unknown:
        raise ConfigError(
            f"capacity.tools: {', '.join(unknown)}: no tool contract, MCP server or locked MCP "
            f"tool of that name; known: {', '.join(sorted(limits)) or 'none'}"
        )
    groups: dict[str, list[str]] = {}
    for name in config.tools:
        groups.setdefault(limits[name].domain, []).append(name)
    rows = []
    for domain, names in groups.items():
        rates = {name: _rate(config, name, rpm) for name in names}
        needed = sum(config.peak_factor * rates[n] * config.tools[n].duration_s for n in names)
        limit = limits[names[0]].max_concurrent
        headroom = 1 - needed / limit
        lambdas = [config.tools[n].lambda_concurrency for n in names]
        lambda_limit = sum(x for x in lambdas if x is not None) if None not in lambdas else None
        lambda_headroom = 1 - needed / lambda_limit if lambda_limit is not None else None
        ok = headroom >= config.safety_margin and (
            lambda_headroom is None or lambda_headroom >= config.safety_margin
        )
        rows.append(
            ToolFigures(
                domain=domain,
                tools=tuple(names),
                calls_per_second=sum(rates.values()),
                needed=needed,
                max_concurrent=limit,
                headroom=headroom,
                lambda_concurrency=lambda_limit,
                lambda_headroom=lambda_headroom,
                ok=ok,
            )
        )
    return tuple(rows)


def _rate(config: CapacityConfig, name: str, rpm: float) -> float:
    load = config.tools[name]
    if load.calls_per_second is not None:
        return load.calls_per_second
    assert load.calls_per_request is not None  # one of the two, by ToolLoad's validator
    return load.calls_per_request * rpm / 60


def shortfalls(rows: tuple[ToolFigures, ...], safety_margin: float) -> list[str]:
    problems = []
    for row in rows:
        if row.ok:
            continue
        if row.headroom < safety_margin:
            problems.append(
                f"{row.domain}: needs {row.needed:.1f} concurrent calls at peak, "
                f"max_concurrent {row.max_concurrent} (headroom {row.headroom:.0%}, "
                f"margin {safety_margin:.0%}); raise max_concurrent or cut calls or duration"
            )
        if row.lambda_headroom is not None and row.lambda_headroom < safety_margin:
            problems.append(
                f"{row.domain}: needs {row.needed:.1f} concurrent Lambda executions, "
                f"lambda_concurrency {row.lambda_concurrency} (headroom "
                f"{row.lambda_headroom:.0%}); raise the reserved or account concurrency"
            )
    return problems


def tools_json(rows: tuple[ToolFigures, ...]) -> list[dict[str, Any]]:
    return [
        {
            "domain": r.domain,
            "tools": list(r.tools),
            "calls_per_second": r.calls_per_second,
            "needed_concurrency": r.needed,
            "max_concurrent": r.max_concurrent,
            "headroom": r.headroom,
            "lambda_concurrency": r.lambda_concurrency,
            "lambda_headroom": r.lambda_headroom,
            "ok": r.ok,
        }
        for r in rows
    ]
