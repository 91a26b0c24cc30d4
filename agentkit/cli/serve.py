"""``agentkit serve``: the DR advisor over HTTP (the AgentCore Runtime contract), see
``agentkit.serve.http``. Starlette and uvicorn are imported here only, inside the command."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentkit.cli.options import ConfigOption, SessionsOption

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig
    from agentkit.serve.http_service import ServeSettings

DEFAULT_PORT = 8080  # the AgentCore Runtime HTTP contract's port


def serve(
    config: ConfigOption = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; in an AgentCore container use 0.0.0.0."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = DEFAULT_PORT,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes; they share state through the Redis and PostgreSQL "
            "backends of agentkit.yaml.",
        ),
    ] = 1,
    capacity: Annotated[
        int, typer.Option("--capacity", min=1, max=1024, help="Turns running at once per worker.")
    ] = 16,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            min=0.001,
            help="Seconds a request waits for its turn before 504 "
            "(default: limits.deadline_s + 10).",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int,
        typer.Option("--max-body-bytes", min=1024, help="Larger request bodies get 413."),
    ] = 256 * 1024,
    health_ttl: Annotated[
        float,
        typer.Option("--health-ttl", min=0, help="Seconds a /health verdict is reused."),
    ] = 10.0,
    approval_timeout: Annotated[
        float,
        typer.Option(
            "--approval-timeout",
            min=0,
            help="Seconds high-stakes advice waits for an approval; then the next request for "
            "its session declines it (the safe option).",
        ),
    ] = 900.0,  # http_service.APPROVAL_TIMEOUT_S
    sessions: SessionsOption = None,
) -> None:
    """Serve the DR advisor over HTTP on the Amazon Bedrock AgentCore Runtime contract.

    POST /invocations (JSON, or Server-Sent Events with Accept: text/event-stream), GET /ping,
    GET /health (deep health: 503 when no route answers), GET /openapi.json. High-stakes advice
    waits for {"approval": {"approved": true|false, "by": NAME}} until --approval-timeout, then
    the safe option stands. SIGTERM finishes the turns in flight, then exits.
    """
    from agentkit.config import load_config, optional_module

    optional_module("starlette", "agentkit serve", extra="serve")
    optional_module("uvicorn", "agentkit serve", extra="serve")
    from agentkit.serve.http_service import ServeSettings

    settings = ServeSettings(
        config=str(Path(config).resolve()) if config is not None else None,
        sessions=str(Path(sessions).resolve()) if sessions is not None else None,
        capacity=capacity,
        max_body_bytes=max_body_bytes,
        deadline_s=deadline,
        health_ttl_s=health_ttl,
        approval_timeout_s=approval_timeout,
    )
    cfg = load_config(config)  # one line naming the key and the file, before anything starts
    signal.signal(signal.SIGTERM, _stop)  # before the server starts, and after it stopped
    listener = _listen(host, port)
    try:
        _run(settings, cfg, listener, workers)
    finally:
        listener.close()


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)  # a requested stop is a success


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, or one line saying why not (in use, not an address of this host)."""
    from agentkit.errors import InputError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise InputError(f"--host {host}: not an address to listen on ({error})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections wait in the backlog until the server accepts them
    except OSError as error:
        sock.close()
        raise InputError(
            f"--host {host} --port {port}: cannot listen ({error.strerror or error}); "
            "pick another --port or stop what holds it"
        ) from None
    sock.set_inheritable(True)  # worker processes serve the same socket
    return sock


def _run(
    settings: ServeSettings, cfg: AgentkitConfig, listener: socket.socket, workers: int
) -> None:
    import uvicorn

    from agentkit.serve.http import create_app
    from agentkit.serve.http_service import DEADLINE_GRACE_S, SETTINGS_VARIABLE, Advisor

    # Every worker builds the same advisor; building it here first turns a mistake (a session
    # store that cannot be reached, a backend without its extra) into one line before serving.
    advisor = Advisor.open(settings)
    if advisor.runtime.offline_reason:
        _say(f"warning: {advisor.runtime.offline_reason}")
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        "timeout_keep_alive": 5,
    }
    for warning in _fleet_warnings(cfg, workers, settings.capacity):
        _say(f"warning: {warning}")
    host, port = listener.getsockname()[:2]
    deadline = settings.deadline_s or cfg.limits.deadline_s + DEADLINE_GRACE_S
    _say(
        f"listening on http://{_url_host(host)}:{port} ({workers} worker(s), "
        f"{settings.capacity} turn(s) each, deadline {deadline:g} s); SIGTERM finishes the "
        "turns in flight"
    )
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(create_app(advisor, settings), **options))
        server.run(sockets=[listener])
        return
    advisor.close()
    from uvicorn.supervisors import Multiprocess

    os.environ[SETTINGS_VARIABLE] = settings.to_json()  # read by each worker's app factory
    config = uvicorn.Config(
        "agentkit.serve.http:app_from_environment", factory=True, workers=workers, **options
    )
    Multiprocess(config, sockets=[listener]).run()


def _fleet_warnings(cfg: AgentkitConfig, workers: int, capacity: int) -> list[str]:
    found = []
    pool = cfg.sessions.pool_size
    if cfg.sessions.backend == "postgres" and pool < capacity:
        found.append(
            f"sessions.pool_size {pool} < --capacity {capacity}: turns will wait for a "
            "PostgreSQL connection; set pool_size to at least the capacity"
        )
    if cfg.sessions.backend == "sqlite" and capacity > 1:
        found.append(
            "sessions on SQLite: a worker runs one turn at a time (the file's single lock); "
            "set sessions.backend: postgres to run them side by side (docs/scaleout.md)"
        )
    if workers > 1 and cfg.resilience.state.backend == "memory":
        found.append(
            f"--workers {workers} with resilience.state.backend memory: each worker keeps its "
            "own breakers and quota; set it to redis to share them (docs/scaleout.md)"
        )
    return found


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _say(line: str) -> None:
    print(f"agentkit serve: {line}", file=sys.stderr, flush=True)
