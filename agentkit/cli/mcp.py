"""``agentkit mcp serve``: agentkit's tools for MCP-capable assistants, over stdio or HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from agentkit.cli.options import ConfigOption
from agentkit.errors import InputError

mcp_app = typer.Typer(
    help="agentkit's tools over the Model Context Protocol.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@mcp_app.command("serve")
def serve(
    transport: Annotated[
        Literal["stdio", "http"],
        typer.Option(help="stdio (the assistant starts agentkit) or http (Streamable HTTP)."),
    ] = "stdio",
    host: Annotated[
        str, typer.Option(help="http: the address to listen on (loopback only).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="http: the port; 0 picks a free one.", min=0, max=65535)
    ] = 8765,
    config: ConfigOption = None,
) -> None:
    """Serve the versioned tools (DR advisor, runbooks, FMEA, capacity) to MCP clients.

    Over stdio, add it to an assistant's MCP configuration as the command
    `agentkit mcp serve`; over HTTP, as the URL it prints (http://127.0.0.1:8765/mcp).
    Arguments and results are redacted, and arguments holding a prompt injection refused; each
    call is a `tools/call` span exported as agentkit.yaml's `telemetry:` says.
    """
    from agentkit.config import optional_module

    optional_module("mcp", "agentkit mcp serve", extra="mcp")  # one line naming the extra
    import anyio

    from agentkit.agents.dr.agent import knowledge_retriever
    from agentkit.agents.tools import builtin_registry
    from agentkit.config import load_config
    from agentkit.serve.mcp import serve_http, serve_stdio
    from agentkit.telemetry.setup import start

    settings = load_config(config)
    telemetry = start(settings.telemetry)
    # the scope: each call's tools/call span, the registry's execute_tool spans, guard counts
    with telemetry.scope():
        # knowledge_search searches the configuration's knowledge_bases, if it has any
        registry = builtin_registry(knowledge=knowledge_retriever(settings))
        try:
            if transport == "stdio":
                anyio.run(serve_stdio, registry)
                return
            try:
                serve_http(registry, host=host, port=port, on_ready=_announce)
            except OSError as error:  # the address is taken or not ours
                raise InputError(
                    f"cannot listen on {host}:{port}: {error.strerror or error}; "
                    "pick another --port or --host"
                ) from None
        finally:
            registry.close()
            telemetry.shutdown()


def _announce(url: str) -> None:
    typer.echo(f"agentkit MCP server (Streamable HTTP) at {url}", err=True)
