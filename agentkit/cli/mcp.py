"""``agentkit mcp serve``: agentkit's tools for MCP-capable assistants, over stdio."""

from __future__ import annotations

import typer

mcp_app = typer.Typer(
    help="agentkit's tools over the Model Context Protocol.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@mcp_app.command("serve")
def serve() -> None:
    """Serve the versioned tools (dr_advisor, failover_runbook) on stdin/stdout.

    Add it to an assistant's MCP configuration as the command `agentkit mcp serve`.
    """
    from agentkit.config import optional_module

    optional_module("mcp", "agentkit mcp serve", extra="mcp")  # one line naming the extra
    import anyio

    from agentkit.agents.tools import builtin_registry
    from agentkit.serve.mcp import serve_stdio

    registry = builtin_registry()
    try:
        anyio.run(serve_stdio, registry)
    finally:
        registry.close()
