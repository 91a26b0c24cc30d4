"""Listeners of the emulator: one loopback port per Region plus a control port.

A Region that is ``down`` has its listener closed and its port held by a socket that is bound
but not listening, so clients get a real "connection refused"; its open connections are reset.
A new plan that brings the Region back re-opens the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any, cast

from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.utils import wrap_app

from agentkit.emulator.asgi import BedrockApp, Connections, ControlApp
from agentkit.emulator.calllog import CallRecord
from agentkit.emulator.faults import FaultPlan, parse_plan
from agentkit.emulator.guardrails import GuardrailRegistry
from agentkit.emulator.knowledge import KnowledgeCatalog, KnowledgeCorpus
from agentkit.emulator.responder import Responder
from agentkit.emulator.service import BedrockService
from agentkit.resilience.clock import SYSTEM_CLOCK, Clock


def _hypercorn_config() -> Config:
    config = Config()
    config.keep_alive_timeout = 75
    config.graceful_timeout = 0.5
    config.errorlog = None
    config.accesslog = None
    config.include_server_header = False
    return config


class _Listener:
    """One TCP listener whose connections are served by hypercorn."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.server: asyncio.Server | None = None
        self.port_holder: socket.socket | None = None
        self.writers: dict[tuple[str, int], asyncio.StreamWriter] = {}


class EmulatorServer:
    """The asyncio side of the emulator. Every method runs on the emulator's event loop."""

    def __init__(
        self,
        regions: list[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        plan: FaultPlan | None = None,
        responder: Responder | None = None,
        guardrails: GuardrailRegistry | None = None,
        knowledge: KnowledgeCorpus | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not regions:
            raise ValueError("the emulator needs at least one Region")
        self.service = BedrockService(
            regions,
            plan=plan,
            responder=responder,
            guardrails=guardrails,
            knowledge=knowledge,
            clock=clock,
        )
        self.host = host
        self._control = _Listener("control", host, port)
        self._regions = {
            r: _Listener(r, host, port + 1 + i if port else 0) for i, r in enumerate(regions)
        }
        self._port_regions: dict[int, str] = {}
        self._connections = Connections()
        self._config = _hypercorn_config()
        self._context = WorkerContext(None)
        self._tasks: set[asyncio.Task[Any]] = set()
        bedrock = BedrockApp(self.service, self._port_regions, self._connections)
        self._bedrock = wrap_app(cast(Any, bedrock), 0, "asgi")
        self._control_app = wrap_app(
            cast(Any, ControlApp(self.service, self.apply_plan, self.set_knowledge)), 0, "asgi"
        )
        self._connections.abort = self._abort

    @property
    def endpoints(self) -> dict[str, str]:
        return {r: f"http://{self.host}:{lst.port}" for r, lst in self._regions.items()}

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self._control.port}"

    async def start(self) -> None:
        await self._listen(self._control, self._control_app)
        for listener in self._regions.values():
            await self._listen(listener, self._bedrock)
            self._port_regions[listener.port] = listener.name
        await self.apply_plan(self.service.faults.plan)

    async def stop(self) -> None:
        self._connections.released.set()
        for listener in [self._control, *self._regions.values()]:
            await self._close(listener)
            if listener.port_holder is not None:
                listener.port_holder.close()
                listener.port_holder = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def apply_plan(self, plan: FaultPlan) -> None:
        unknown = sorted(set(plan.regions) - set(self._regions))
        if unknown:
            raise ValueError(f"regions.{unknown[0]}: not a Region this emulator serves")
        self.service.set_plan(plan)
        self._connections.released.set()  # end every black hole of the old plan
        self._connections.released = asyncio.Event()
        for name, listener in self._regions.items():
            down = plan.regions[name].down if name in plan.regions else False
            if down and listener.server is not None:
                await self._close(listener)
                listener.port_holder = _bound_not_listening(self.host, listener.port)
            elif not down and listener.server is None:
                if listener.port_holder is not None:
                    listener.port_holder.close()
                    listener.port_holder = None
                await self._listen(listener, self._bedrock)

    async def set_knowledge(self, catalog: KnowledgeCatalog) -> None:
        """Replace every Region's Knowledge Bases (on the event loop, between requests)."""
        unknown = sorted(set(catalog.root) - set(self._regions))
        if unknown:
            raise ValueError(f"{unknown[0]}: not a Region this emulator serves")
        self.service.knowledge = KnowledgeCorpus(catalog)

    async def _listen(self, listener: _Listener, app: Any) -> None:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = writer.get_extra_info("peername")[:2]
            listener.writers[peer] = writer
            try:
                loop = asyncio.get_running_loop()
                await TCPServer(app, loop, self._config, self._context, {}, reader, writer)
            except asyncio.CancelledError:
                pass  # shutdown: the connection is gone either way
            finally:
                listener.writers.pop(peer, None)

        listener.server = await asyncio.start_server(
            on_connect, listener.host, listener.port, reuse_address=True, backlog=256
        )
        listener.port = listener.server.sockets[0].getsockname()[1]

    async def _close(self, listener: _Listener) -> None:
        if listener.server is None:
            return
        listener.server.close()
        for writer in list(listener.writers.values()):
            writer.transport.abort()
        await listener.server.wait_closed()
        listener.server = None

    def _abort(self, client: tuple[str, int] | None) -> None:
        if client is None:
            return
        for listener in self._regions.values():
            writer = listener.writers.get(tuple(client))  # type: ignore[arg-type]
            if writer is not None:
                writer.transport.abort()


def _bound_not_listening(host: str, port: int) -> socket.socket:
    """Hold ``port`` without accepting: connecting to it is refused, and nobody else can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class Emulator:
    """The emulator in a background thread, for tests, benchmarks and notebooks.

    >>> with Emulator(["us-east-1", "us-west-2"]) as emu:
    ...     client = emu.client("us-east-1")
    ...     emu.set_faults({"regions": {"us-east-1": {"down": True}}})
    """

    def __init__(self, regions: list[str], **options: Any) -> None:
        self._server = EmulatorServer(regions, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[Any] = []

    def start(self) -> Emulator:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="agentkit-emulator", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoints(self) -> dict[str, str]:
        return self._server.endpoints

    @property
    def control_url(self) -> str:
        return self._server.control_url

    @property
    def service(self) -> BedrockService:
        return self._server.service

    def set_faults(self, plan: FaultPlan | dict[str, Any] | None) -> None:
        """Replace the fault plan (a :class:`FaultPlan` or its dict form)."""
        parsed = plan if isinstance(plan, FaultPlan) else parse_plan(plan)
        self._run(self._server.apply_plan(parsed))

    def set_knowledge(self, catalog: KnowledgeCatalog | dict[str, Any]) -> None:
        """Replace the Knowledge Bases: ``{region: {kb_id: [{id, uri, text}, ...]}}``."""
        parsed = (
            catalog
            if isinstance(catalog, KnowledgeCatalog)
            else KnowledgeCatalog.model_validate(catalog)
        )
        self._run(self._server.set_knowledge(parsed))

    def calls(self) -> list[CallRecord]:
        return self.service.log.records()

    def clear_calls(self) -> None:
        self.service.log.clear()

    def client(self, region: str, **config: Any) -> Any:
        """A boto3 ``bedrock-runtime`` client for ``region``'s endpoint (dummy credentials,
        botocore retries off), closed when the emulator stops. ``config`` goes to
        ``botocore.config.Config``."""
        from agentkit.emulator.clients import emulator_client

        client = emulator_client(self.endpoints[region], region, **config)
        self._clients.append(client)
        return client

    def agent_client(self, region: str, **config: Any) -> Any:
        """A boto3 ``bedrock-agent-runtime`` client (Knowledge Base ``Retrieve``) for
        ``region``'s endpoint, like :meth:`client`."""
        from agentkit.emulator.clients import emulator_agent_client

        client = emulator_agent_client(self.endpoints[region], region, **config)
        self._clients.append(client)
        return client

    def _run(self, coro: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)


@contextlib.contextmanager
def running_emulator(regions: list[str], **options: Any) -> Any:
    emulator = Emulator(regions, **options).start()
    try:
        yield emulator
    finally:
        emulator.stop()
