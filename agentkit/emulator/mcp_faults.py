"""A fault-injecting MCP tool server, shipped for tests and game days like the Bedrock emulator.

Built on the official SDK's low-level server; serves stdio or Streamable HTTP::

    python -m agentkit.emulator.mcp_faults --state DIR                      # stdio
    python -m agentkit.emulator.mcp_faults --state DIR --transport http --port 0
    # prints the URL (http://127.0.0.1:PORT/mcp) on its first line of stdout

Its tools, one per fault:

``echo``            answers ``{"text": ...}`` (read_only)
``hang``            waits until ``release`` is called or ``seconds`` pass, then answers
``release``         lets every ``hang`` in progress answer
``invalid_params``  fails with the JSON-RPC error -32602 (invalid params)
``vanish``          is listed, but fails with -32601 (method not found)
``outage``          fails with -32603 (internal error) while the file ``DIR/outage`` exists
``fail``            answers a result with ``isError`` set
``drop``            ends the process mid-call (the connection drops)
``bad_output``      answers structured content that breaks its own outputSchema
``record``          mutating: counts one execution per new ``idempotency_key`` in
                    ``DIR/executions.json`` (a repeated key returns the stored result; every
                    call, repeat or not, is counted in ``calls``); with
                    ``--drop-after-record`` the first execution ends the process after counting,
                    before answering (a transport failure after the side effect)
``count``           how many executions ``record`` made

While the file ``DIR/hold`` exists, ``echo`` and ``record`` (after counting) wait before they
answer: a slow answer whose side effect has already happened, for hedges and kills mid-call.

``--drift`` changes ``echo``'s schemas (a new required input and output property), the way a
server upgraded behind a client's back would. The state folder is shared by every process
started on it, so a counter survives a dropped and restarted stdio server; each update holds an
exclusive ``flock`` on the folder's lock file and replaces the file whole, so processes and
threads counting at once lose nothing.

``--stand-in FILE`` serves other tools instead, the ones a configured server has in
``mcp.lock.json`` (``agentkit gameday`` stands it in for each of ``mcp_servers:``), and applies
one fault to their calls (:class:`StandIn`). A stand-in tool answers the smallest value its
output schema accepts (:func:`example`) and counts its executions in ``DIR/executions.json``,
once per ``idempotency_key`` for a mutating tool.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import McpError

TEXT_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}
EXECUTIONS = "executions.json"
CALLS = "calls"  # a stand-in's calls, counted across its processes
HOLD = "hold"
_LOCK = ".counters.lock"
_HOLD_POLL_S = 0.01


# What a stand-in does to every call (the first ``first`` calls only, when set):
STAND_IN_FAULTS = ("hang", "jsonrpc_error", "is_error", "drop", "drift", "invalid_output")


@dataclass(frozen=True)
class StandIn:
    """The tools of one configured server as locked (``name``, ``description``,
    ``side_effect``, ``input``, ``output``), and the fault its calls meet."""

    tools: tuple[dict[str, Any], ...]
    fault: str | None = None
    code: int = types.INTERNAL_ERROR  # the JSON-RPC error of ``jsonrpc_error``
    first: int | None = None
    hang_s: float = 3600.0

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "tools": list(self.tools)})

    @classmethod
    def read(cls, path: Path) -> StandIn:
        data = json.loads(path.read_text())
        return cls(**{**data, "tools": tuple(data["tools"])})


@dataclass(frozen=True)
class FaultOptions:
    state: Path
    drift: bool = False
    drop_after_record: bool = False
    name: str = "agentkit-mcp-faults"
    stand_in: StandIn | None = None


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


def _annotations(side_effect: str) -> types.ToolAnnotations:
    return types.ToolAnnotations(
        readOnlyHint=side_effect == "read_only",
        destructiveHint=side_effect == "mutating",
        idempotentHint=side_effect != "mutating",
    )


def tool_list(options: FaultOptions) -> list[types.Tool]:
    """The tools as listed; ``drift`` changes echo's schemas."""
    echo_in = _object({"text": {"type": "string"}}, ["text"])
    echo_out = TEXT_OUTPUT
    if options.drift:
        echo_in = _object(
            {"text": {"type": "string"}, "lang": {"type": "string"}}, ["text", "lang"]
        )
        echo_out = {**TEXT_OUTPUT, "required": ["text", "lang"]}
        echo_out["properties"] = {**TEXT_OUTPUT["properties"], "lang": {"type": "string"}}
    empty = _object({})
    specs: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
        ("echo", "Answers with its input text.", echo_in, echo_out, "read_only"),
        (
            "hang",
            "Waits until released or `seconds` pass.",
            _object({"seconds": {"type": "number", "minimum": 0}}),
            TEXT_OUTPUT,
            "read_only",
        ),
        ("release", "Lets every hang in progress answer.", empty, TEXT_OUTPUT, "idempotent"),
        ("invalid_params", "Fails with JSON-RPC invalid params.", empty, TEXT_OUTPUT, "read_only"),
        (
            "vanish",
            "Listed, but the server says method not found.",
            empty,
            TEXT_OUTPUT,
            "read_only",
        ),
        ("outage", "Internal error while DIR/outage exists.", empty, TEXT_OUTPUT, "read_only"),
        ("fail", "Answers a result with isError set.", empty, TEXT_OUTPUT, "read_only"),
        ("drop", "Ends the server process mid-call.", empty, TEXT_OUTPUT, "read_only"),
        ("bad_output", "Breaks its own outputSchema.", empty, TEXT_OUTPUT, "read_only"),
        (
            "record",
            "Counts one execution per new idempotency key.",
            _object(
                {
                    "idempotency_key": {"type": "string", "minLength": 1},
                    "note": {"type": "string"},
                },
                ["idempotency_key"],
            ),
            _object(
                {"recorded": {"type": "string"}, "execution": {"type": "integer"}},
                ["recorded", "execution"],
            ),
            "mutating",
        ),
        (
            "count",
            "How many executions record made.",
            empty,
            _object({"executions": {"type": "integer"}}, ["executions"]),
            "read_only",
        ),
    ]
    return [
        types.Tool(
            name=name,
            description=description,
            inputSchema=request,
            outputSchema=response,
            annotations=_annotations(side_effect),
        )
        for name, description, request, response, side_effect in specs
    ]


@contextlib.contextmanager
def _exclusive(state: Path) -> Iterator[None]:
    """One update at a time to the counters of ``state``, across every process and thread
    started on it (an exclusive ``flock`` on a lock file in the folder)."""
    with open(state / _LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole: a reader sees the old or the new text, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def count_call(state: Path) -> int:
    """One more call on the stand-in started on ``state``: its number, from 1."""
    calls = state / CALLS
    with _exclusive(state):
        n = int(calls.read_text()) + 1 if calls.exists() else 1
        _replace(calls, str(n))
    return n


class _Executions:
    """``record``'s side effects, in a file shared by every process on the same state folder;
    each update holds the folder's lock (:func:`_exclusive`)."""

    def __init__(self, state: Path) -> None:
        self.path = state / EXECUTIONS

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"count": 0, "calls": 0, "keys": {}}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def record(self, key: str, note: str) -> tuple[dict[str, Any], bool]:
        """The stored result for ``key``, and whether this call executed it."""
        with _exclusive(self.path.parent):
            data = self.read()
            data["calls"] = data.get("calls", 0) + 1
            executed = key not in data["keys"]
            if executed:
                data["count"] += 1
                data["keys"][key] = {"recorded": note or key, "execution": data["count"]}
            _replace(self.path, json.dumps(data))
        return dict(data["keys"][key]), executed


def executions(state: Path) -> dict[str, Any]:
    """What ``record`` did on the server(s) started on ``state``: ``count`` (executions),
    ``calls`` (every call, repeats included) and the result stored per key."""
    return _Executions(state).read()


def _result(structured: dict[str, Any], *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(structured))],
        structuredContent=None if error else structured,
        isError=error,
    )


def example(schema: Any) -> Any:
    """The smallest value ``schema`` accepts, for the usual JSON Schema keywords (a pattern or
    a ``$ref`` is not followed: such a value may not validate)."""
    if not isinstance(schema, dict):
        return None
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return example(schema[key][0])
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        return {name: example(sub) for name, sub in properties.items() if name in required}
    if kind == "array":
        return [example(schema.get("items"))] * int(schema.get("minItems", 0))
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "x" * int(schema.get("minLength", 0)))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    return {"boolean": False, "null": None}.get(str(kind), {})


_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "uri": "https://example.com/",
    "email": "gameday@example.com",
}


def _broken(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Structured content ``schema`` refuses: a required property missing, else one of the
    wrong type."""
    schema = schema or {}
    if schema.get("required"):
        return {}
    first = next(iter(schema.get("properties", {})), "value")
    return {first: {"agentkit": "not what the schema says"}}


def stand_in_tools(stand_in: StandIn) -> list[types.Tool]:
    drift = stand_in.fault == "drift"
    tools = []
    for tool in stand_in.tools:
        request = dict(tool["input"])
        if drift:  # a new required input, the way an upgraded server would change it
            request["properties"] = {**request.get("properties", {}), "since_v2": {}}
            request["required"] = [*request.get("required", []), "since_v2"]
        tools.append(
            types.Tool(
                name=tool["name"],
                description=tool["description"],
                inputSchema=request,
                outputSchema=tool["output"],
                annotations=_annotations(tool["side_effect"]),
            )
        )
    return tools


def _stand_in_call(
    options: FaultOptions, stand_in: StandIn
) -> Callable[[str, dict[str, Any]], Awaitable[types.CallToolResult]]:
    tools = {tool["name"]: tool for tool in stand_in.tools}
    executions = _Executions(options.state)

    async def call(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = tools.get(name)
        if tool is None:
            raise McpError(types.ErrorData(code=types.METHOD_NOT_FOUND, message=f"no tool {name}"))
        n = count_call(options.state)
        fault = stand_in.fault if stand_in.first is None or n <= stand_in.first else None
        if fault == "hang":
            await anyio.sleep(stand_in.hang_s)
        elif fault == "jsonrpc_error":
            raise McpError(types.ErrorData(code=stand_in.code, message="game day fault"))
        elif fault == "drop":
            os._exit(1)
        key = arguments.get("idempotency_key") if tool["side_effect"] == "mutating" else None
        executions.record(f"{name}/{key if key else f'call-{n}'}", "")
        output = tool["output"]
        if fault == "is_error":
            return _result({"text": f"{name} failed (game day fault)"}, error=True)
        if fault == "invalid_output":
            structured = _broken(output)
        elif output is None:
            return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])
        else:
            structured = example(output)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(structured))],
            structuredContent=structured,
        )

    return call


def executions_by_tool(state: Path) -> dict[str, int]:
    """A stand-in's executions per tool."""
    counted: dict[str, int] = {}
    for key in executions(state)["keys"]:
        name = key.split("/", 1)[0]
        counted[name] = counted.get(name, 0) + 1
    return counted


def build_server(options: FaultOptions) -> Server[Any, Any]:
    server: Server[Any, Any] = Server(options.name, version="1.0.0")
    if options.stand_in is not None:
        return _serve(
            server, stand_in_tools(options.stand_in), _stand_in_call(options, options.stand_in)
        )
    tools = tool_list(options)
    executions = _Executions(options.state)
    released = [anyio.Event()]

    async def held() -> None:
        while (options.state / HOLD).exists():
            await anyio.sleep(_HOLD_POLL_S)

    async def call(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        if name == "echo":
            text = arguments.get("text")
            if not isinstance(text, str):
                raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message="text: required"))
            await held()
            return _result({"text": text})
        if name == "hang":
            with anyio.move_on_after(float(arguments.get("seconds", 60))):
                await released[0].wait()
            return _result({"text": "released"})
        if name == "release":
            released[0].set()
            released[0] = anyio.Event()
            return _result({"text": "released"})
        if name == "invalid_params":
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message="no such argument"))
        if name == "outage":
            if (options.state / "outage").exists():
                raise McpError(types.ErrorData(code=types.INTERNAL_ERROR, message="outage"))
            return _result({"text": "ok"})
        if name == "fail":
            return _result({"text": "the tool could not do it"}, error=True)
        if name == "drop":
            os._exit(1)
        if name == "bad_output":
            return types.CallToolResult(
                content=[types.TextContent(type="text", text="42")],
                structuredContent={"text": 42},
            )
        if name == "record":
            result, executed = executions.record(
                str(arguments["idempotency_key"]), str(arguments.get("note", ""))
            )
            marker = options.state / "dropped"
            if executed and options.drop_after_record and not marker.exists():
                marker.touch()
                os._exit(1)  # the side effect happened; the answer never leaves
            await held()
            return _result(result)
        if name == "count":
            return _result({"executions": int(executions.read()["count"])})
        raise McpError(types.ErrorData(code=types.METHOD_NOT_FOUND, message=f"no tool {name}"))

    async def answer(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        if name == "vanish":
            raise McpError(types.ErrorData(code=types.METHOD_NOT_FOUND, message="Method not found"))
        return await call(name, arguments)

    return _serve(server, tools, answer)


def _serve(
    server: Server[Any, Any],
    tools: list[types.Tool],
    call: Callable[[str, dict[str, Any]], Awaitable[types.CallToolResult]],
) -> Server[Any, Any]:
    @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return tools

    async def handle(request: types.CallToolRequest) -> types.ServerResult:
        # registered directly: the SDK's decorator turns every exception into isError, and
        # this server must be able to answer JSON-RPC errors too
        arguments = dict(request.params.arguments or {})
        return types.ServerResult(await call(request.params.name, arguments))

    server.request_handlers[types.CallToolRequest] = handle
    return server


async def serve_stdio(options: FaultOptions) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(options)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def serve_http(options: FaultOptions, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve Streamable HTTP at /mcp until killed; the URL is the first line of stdout."""
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send

    # the SDK logs a traceback each time a client closes its session's GET stream: noise here
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.CRITICAL)
    manager = StreamableHTTPSessionManager(build_server(options))

    class _Endpoint:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await manager.handle_request(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app = Starlette(routes=[Route("/mcp", endpoint=_Endpoint())], lifespan=lifespan)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    print(f"http://{host}:{sock.getsockname()[1]}/mcp", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])


def command(
    state: Path,
    *,
    drift: bool = False,
    drop_after_record: bool = False,
    stand_in: Path | None = None,
) -> list[str]:
    """The argv that starts this server on stdio (for ``mcp_servers.NAME.command``/``args``)."""
    argv = [sys.executable, "-m", "agentkit.emulator.mcp_faults", "--state", str(state)]
    return (
        argv
        + (["--drift"] if drift else [])
        + (["--drop-after-record"] if drop_after_record else [])
        + (["--stand-in", str(stand_in)] if stand_in is not None else [])
    )


@contextlib.contextmanager
def running_http(
    state: Path,
    *,
    drift: bool = False,
    drop_after_record: bool = False,
    stand_in: Path | None = None,
) -> Iterator[str]:
    """Start the server over Streamable HTTP on a free loopback port; yield its URL; stop it."""
    import subprocess

    argv = command(state, drift=drift, drop_after_record=drop_after_record, stand_in=stand_in)
    process = subprocess.Popen(
        [*argv, "--transport", "http", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the MCP fault server did not start (exit {process.poll()})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentkit.emulator.mcp_faults")
    parser.add_argument("--state", type=Path, required=True, help="Folder for counters/markers.")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--drift", action="store_true", help="Change echo's schemas.")
    parser.add_argument("--drop-after-record", action="store_true")
    parser.add_argument("--name", default="agentkit-mcp-faults")
    parser.add_argument("--stand-in", type=Path, help="Serve these locked tools (StandIn JSON).")
    args = parser.parse_args(argv)
    args.state.mkdir(parents=True, exist_ok=True)
    stand_in = StandIn.read(args.stand_in) if args.stand_in else None
    options = FaultOptions(args.state, args.drift, args.drop_after_record, args.name, stand_in)
    if args.transport == "http":
        serve_http(options, host=args.host, port=args.port)
    else:
        anyio.run(serve_stdio, options)


if __name__ == "__main__":
    main()
