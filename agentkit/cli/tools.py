"""``agentkit tools``: list, show, validate, lock and call the versioned tool contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption
from agentkit.cli.traced import traced
from agentkit.errors import InputError

if TYPE_CHECKING:
    from agentkit.tools.mcp_client import McpClient

tools_app = typer.Typer(
    help="Versioned tool contracts.", no_args_is_help=True, rich_markup_mode=None
)

RootOption = Annotated[
    Path | None, typer.Option("--root", help="Contracts folder (default: the packaged tools/).")
]


def _mcp_client(config_path: Path | None) -> McpClient | None:
    """The MCP servers of agentkit.yaml with mcp.lock.json beside it; None without servers."""
    from agentkit.config import load_config

    servers = load_config(config_path).mcp_servers
    if not servers:
        return None
    from agentkit.tools.mcp_client import MCP_LOCK_NAME, McpClient

    folder = config_path.parent if config_path is not None else Path(".")
    return McpClient.from_config(servers, folder / MCP_LOCK_NAME)


@tools_app.command("list")
def list_tools(root: RootOption = None, config: ConfigOption = None) -> None:
    """Every tool with its version and description (with -c: the MCP servers' tools too)."""
    from rich.console import Console
    from rich.table import Table

    from agentkit.paths import data_dir
    from agentkit.tools.contracts import load_contracts

    table = Table("tool", "version", "side effect", "description")
    for contract in load_contracts(root or data_dir("tools")).values():
        table.add_row(contract.name, contract.version, contract.side_effect, contract.description)
    mcp = _mcp_client(config)
    if mcp is not None:
        for tool in mcp.tools():
            table.add_row(tool.name, f"mcp:{tool.server}", tool.side_effect, tool.description)
        mcp.close()
    Console().print(table)


@tools_app.command("show")
def show(name: str, root: RootOption = None, config: ConfigOption = None) -> None:
    """A tool's manifest and schemas, as JSON (with -c: an MCP server's tool too)."""
    from agentkit.errors import ToolNotFound
    from agentkit.paths import data_dir
    from agentkit.tools.contracts import load_contracts

    matches = [c for c in load_contracts(root or data_dir("tools")).values() if c.name == name]
    mcp = _mcp_client(config) if not matches else None
    if mcp is not None:
        try:
            tool = mcp.tool(name)
        except ToolNotFound:
            tool = None
        finally:
            mcp.close()
        if tool is not None:
            shown = {
                "name": tool.name,
                "mcp_server": tool.server,
                "description": tool.description,
                "side_effect": tool.side_effect,
                "sha256": tool.sha256,
                "request": tool.input_schema,
                "response": tool.response_schema,
            }
            typer.echo(json.dumps(shown, indent=2))
            return
    if not matches:
        raise InputError(f"no tool {name!r}: see `agentkit tools list`")
    contract = max(matches, key=lambda c: c.major)
    typer.echo(
        json.dumps(
            {
                "name": contract.name,
                "version": contract.version,
                "description": contract.description,
                "side_effect": contract.side_effect,
                "idempotency_key_required": contract.mutating,
                "timeout_s": contract.timeout_s,
                "max_concurrent": contract.bulkhead.max_concurrent,
                "max_queue": contract.bulkhead.max_queue,
                "fallback": contract.fallback,
                "request": contract.request_schema,
                "response": contract.response_schema,
            },
            indent=2,
        )
    )


@tools_app.command("validate")
def validate(root: RootOption = None) -> None:
    """Check every contract: valid schemas, and version bumps that match the changes."""
    from agentkit.paths import data_dir
    from agentkit.tools.contracts import load_contracts, read_lock, verify

    folder = root or data_dir("tools")
    contracts = load_contracts(folder)
    verify(contracts, read_lock(folder))
    typer.echo(f"{len(contracts)} tool contract(s) valid")


@tools_app.command("lock")
def lock(root: RootOption = None, config: ConfigOption = None) -> None:
    """Publish the current contracts into contracts.lock.json (after checking the bumps);
    with -c, record the tools agentkit.yaml's MCP servers serve in mcp.lock.json beside it."""
    if config is not None:
        _lock_mcp(config)
        return
    from agentkit.errors import ToolVersionMismatch
    from agentkit.fsutil import atomic_write, refuse_installed
    from agentkit.paths import data_dir
    from agentkit.tools.contracts import (
        LOCK_NAME,
        check_against_lock,
        load_contracts,
        lock_entry,
        read_lock,
    )

    folder = root or data_dir("tools")
    refuse_installed(folder / LOCK_NAME)  # an installed package's lock is never rewritten
    contracts = load_contracts(folder)
    current = read_lock(folder)
    problems = [
        p for c in contracts.values() if c.key in current for p in check_against_lock(c, current)
    ]
    if problems:
        raise ToolVersionMismatch("; ".join(problems))
    entries = {key: lock_entry(contracts[key]) for key in sorted(contracts)}
    atomic_write(folder / LOCK_NAME, json.dumps(entries, indent=2, sort_keys=True) + "\n")
    typer.echo(f"locked {len(entries)} contract(s) in {folder / LOCK_NAME}")


def _lock_mcp(config_path: Path) -> None:
    from agentkit.config import load_config
    from agentkit.errors import ConfigError
    from agentkit.fsutil import atomic_write
    from agentkit.tools.mcp_client import MCP_LOCK_NAME, lock_document, lock_servers

    servers = load_config(config_path).mcp_servers
    if not servers:
        raise ConfigError(f"{config_path}: no mcp_servers to lock")
    found = lock_servers(servers)
    path = config_path.parent / MCP_LOCK_NAME
    atomic_write(path, lock_document(found))
    count = sum(len(tools) for tools in found.values())
    typer.echo(f"locked {count} tool(s) of {len(found)} MCP server(s) in {path}")


@tools_app.command("call")
@traced("tools call")
def call(
    name: str,
    input_file: Annotated[Path, typer.Option("--input", help="Request as a JSON file.")],
    root: RootOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate the input, run the tool, print its validated response as JSON."""
    from agentkit.agents.dr.agent import knowledge_retriever
    from agentkit.agents.tools import builtin_registry
    from agentkit.config import load_config
    from agentkit.yamlsource import read_json

    payload = read_json(input_file, InputError)
    # knowledge_search searches the knowledge_bases of agentkit.yaml, if it has any
    registry = builtin_registry(root, knowledge=knowledge_retriever(load_config(config)))
    mcp = _mcp_client(config)
    try:
        if mcp is not None:
            mcp.register(registry)  # called like local tools, through the same boundary
        result = registry.call(name, payload)
    finally:
        registry.close()
        if mcp is not None:
            mcp.close()
    typer.echo(json.dumps(result.output, indent=2, sort_keys=True))
