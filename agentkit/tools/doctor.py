"""``agentkit doctor``'s tools section: is every tool usable before a deployment?

Local contracts: each one loads, matches its entry in ``contracts.lock.json`` (the checks of
``agentkit tools validate``) and has an implementation registered by the application. MCP
servers of ``mcp_servers:``: each is recorded in ``mcp.lock.json``, answers ``initialize`` and
``tools/list`` within its ``connect_timeout_s`` (through the MCP client's own session), and
serves its locked tools with the locked schemas (drift is named with both digests, as the
client refuses it). One :class:`ToolCheck` per check; the section is healthy when all pass.

The tools layer does not know the applications' implementations: the caller passes the names
it registers.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agentkit.config import McpServerConfig
from agentkit.errors import AgentkitError
from agentkit.tools.contracts import LOCK_NAME, ToolContract, check_against_lock, load_contract
from agentkit.tools.contracts import read_lock as read_contract_lock
from agentkit.tools.mcp_client import (
    MCP_LOCK_NAME,
    McpClient,
    drift_problems,
    read_mcp_lock,
    translate,
)


@dataclass(frozen=True)
class ToolCheck:
    subject: str  # "tool dr_advisor@2" or "mcp server faults"
    check: str  # loads, lock, implementation, reachable
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.subject}: {self.check}: {self.detail}"


@dataclass
class ToolsReport:
    checks: list[ToolCheck] = field(default_factory=list)
    mcp_servers: int = 0

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "mcp_servers": self.mcp_servers or "none configured",
            "checks": [asdict(c) for c in self.checks],
        }


def diagnose_tools(
    root: Path,
    implemented: Collection[str],
    servers: Mapping[str, McpServerConfig],
    mcp_lock: Path,
) -> ToolsReport:
    report = ToolsReport(mcp_servers=len(servers))
    report.checks += check_contracts(root, implemented)
    report.checks += check_mcp_servers(servers, mcp_lock)
    return report


def check_contracts(root: Path, implemented: Collection[str]) -> list[ToolCheck]:
    """Per contract folder under ``root``: loads, matches the lock, has an implementation."""
    checks: list[ToolCheck] = []
    try:
        lock = read_contract_lock(root)
    except AgentkitError as error:
        return [ToolCheck(f"tools {root}", "lock", False, str(error))]
    contracts: list[ToolContract] = []
    for manifest in sorted(root.glob("*/v*/manifest.yaml")):
        folder = manifest.parent
        subject = f"tool {folder.parent.name}@{folder.name.removeprefix('v')}"
        try:
            contract = load_contract(folder)
        except AgentkitError as error:
            checks.append(ToolCheck(subject, "loads", False, str(error)))
            continue
        contracts.append(contract)
        checks.append(ToolCheck(subject, "loads", True, f"version {contract.version}"))
        problems = check_against_lock(contract, lock)
        checks.append(
            ToolCheck(
                subject,
                "lock",
                not problems,
                "; ".join(problems) or f"matches {LOCK_NAME} ({contract.digest[:16]})",
            )
        )
        registered = contract.name in implemented
        checks.append(
            ToolCheck(
                subject,
                "implementation",
                registered,
                "registered"
                if registered
                else f"no implementation registered for {contract.name}; calls would fail",
            )
        )
    if not contracts and not checks:
        checks.append(ToolCheck(f"tools {root}", "loads", True, "no contracts"))
    return checks


def check_mcp_servers(servers: Mapping[str, McpServerConfig], lock_path: Path) -> list[ToolCheck]:
    """Per server: recorded in the lock, reachable within its connect timeout, no drift."""
    if not servers:
        return []
    try:
        lock = read_mcp_lock(lock_path)
    except AgentkitError as error:
        return [ToolCheck(f"mcp server {name}", "lock", False, str(error)) for name in servers]
    try:
        client = McpClient(servers, {}, check_lock=False)
    except AgentkitError as error:  # the mcp extra is missing
        return [ToolCheck(f"mcp server {name}", "reachable", False, str(error)) for name in servers]
    checks: list[ToolCheck] = []
    try:
        for name, config in servers.items():
            checks += _check_server(client, name, config, lock.get(name), lock_path)
    finally:
        client.close()
    return checks


def _check_server(
    client: McpClient,
    name: str,
    config: McpServerConfig,
    locked: Mapping[str, Any] | None,
    lock_path: Path,
) -> list[ToolCheck]:
    subject = f"mcp server {name}"
    where = " ".join([config.command, *config.args]) if config.command else _url(config.url)
    started = time.perf_counter()
    try:
        served = client.served(name)
    except BaseException as exc:  # the SDK raises exception groups and cancellations
        if not isinstance(exc, Exception):
            raise
        error = translate(exc, name, "tools/list", config.connect_timeout_s)
        reachable = ToolCheck(subject, "reachable", False, f"{where}: {error}")
        return [reachable, ToolCheck(subject, "lock", False, "not checked: server unreachable")]
    elapsed = (time.perf_counter() - started) * 1000
    checks = [
        ToolCheck(
            subject,
            "reachable",
            True,
            f"{where}: initialize + tools/list in {elapsed:.1f} ms, {len(served)} tool(s)",
        )
    ]
    if locked is None:
        checks.append(
            ToolCheck(
                subject,
                "lock",
                False,
                f"not in {lock_path}; record its tools with `agentkit tools lock -c agentkit.yaml`",
            )
        )
        return checks
    problems = drift_problems(name, locked, served)
    checks += [
        ToolCheck(subject, "lock", False, problem.removeprefix(f"{subject}: "))
        for problem in problems
    ]
    if not problems:
        extra = sorted({t.name for t in served} - set(locked))
        note = f"; not locked (unused): {', '.join(extra)}" if extra else ""
        checks.append(
            ToolCheck(subject, "lock", True, f"{len(locked)} tool(s) match {MCP_LOCK_NAME}{note}")
        )
    return checks


def _url(url: str | None) -> str:
    """The URL without credentials in its user-info part (env values are never shown)."""
    parts = urlsplit(url or "")
    if "@" not in parts.netloc:
        return url or ""
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
