"""agentkit's tools over the Model Context Protocol, for MCP-capable assistants.

Every versioned tool contract of the registry is listed with its request schema as
``inputSchema``, its response schema as ``outputSchema``, the contract version in its title and
annotations from its side-effect class: ``read_only`` is read-only (and so idempotent),
``idempotent`` writes but a repeat changes nothing more, ``mutating`` is destructive and not
idempotent (it requires an ``idempotency_key``; the registry never runs one key twice). A call
goes through the same boundary as an agent's: the registry validates the input and the output
against the contract, times out and breaks; a failure is a tool result with ``isError`` set
(the message names the problem), never a protocol error. Built on the official SDK's low-level
server (pinned in the ``mcp`` extra); the JSON-RPC framing is the SDK's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from agentkit._version import __version__

if TYPE_CHECKING:
    from agentkit.tools.contracts import SideEffect
    from agentkit.tools.registry import ToolRegistry


def tool_annotations(side_effect: SideEffect) -> types.ToolAnnotations:
    """The MCP tool annotations of a side-effect class (closed world: agentkit's own data)."""
    return types.ToolAnnotations(
        readOnlyHint=side_effect == "read_only",
        destructiveHint=side_effect == "mutating",
        idempotentHint=side_effect != "mutating",
        openWorldHint=False,
    )


def build_server(registry: ToolRegistry) -> Server[Any, Any]:
    server: Server[Any, Any] = Server("agentkit", version=__version__)

    @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(
                name=contract.name,
                title=f"{contract.name} v{contract.version}",
                description=contract.description,
                inputSchema=contract.request_schema,
                outputSchema=contract.response_schema,
                annotations=tool_annotations(contract.side_effect),
            )
            for contract in registry.contracts()
        ]

    # The registry validates input and output against the versioned contract: one boundary,
    # one set of messages, for agents and MCP clients alike.
    @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await anyio.to_thread.run_sync(registry.call, name, arguments)
        return dict(result.output)

    return server


async def serve_stdio(registry: ToolRegistry) -> None:
    """Serve until the client closes stdin."""
    server = build_server(registry)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
