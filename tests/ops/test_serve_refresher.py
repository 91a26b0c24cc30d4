"""``agentkit serve`` re-reads the operator overrides off the event loop: a read that hangs (Redis
down until its socket timeout, AppConfig retrying a failing endpoint) stalls no request."""

from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
import httpx
from langgraph.checkpoint.memory import InMemorySaver

from agentkit.agents.dr.agent import build_advisor
from agentkit.bedrock.types import ModelRequest
from agentkit.config import AgentkitConfig
from agentkit.ops import Overrides, OverrideView
from agentkit.ops.store import Change
from agentkit.serve.http import create_app
from agentkit.serve.http_service import Advisor, ServeSettings
from agentkit.testing import FunctionModel, Turn

SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
DEADLINE_S = 30.0  # generous: only a broken build waits this long


class HangingStore:
    """The first read answers; every later one hangs until the test releases it."""

    where = "a store that hangs"

    def __init__(self) -> None:
        self.reads = 0
        self.hanging = threading.Event()
        self.release = threading.Event()

    def read(self) -> Overrides:
        self.reads += 1
        if self.reads > 1:
            self.hanging.set()
            self.release.wait(DEADLINE_S)
        return Overrides.from_fields({"max_tokens": "512"}, {"by": "oncall"})

    def update(self, change: Change) -> Overrides:
        raise AssertionError("serve never writes the document")

    def close(self) -> None:
        self.release.set()


def answer(request: ModelRequest) -> Turn:
    if not request.tools:  # compose
        return "Warm standby fits."
    return {"toolUse": {"name": "requirements", "input": {}}}


def test_serve_answers_ping_and_a_turn_while_the_overrides_read_hangs() -> None:
    config = AgentkitConfig()
    store = HangingStore()
    view = OverrideView(store, poll_s=0.01)  # the refresher re-reads at once, and hangs
    runtime = build_advisor(config, model=FunctionModel(answer), checkpointer=InMemorySaver())
    advisor = Advisor(config, runtime, None, overrides=view)
    app = create_app(advisor, ServeSettings())
    starlette = app.app  # type: ignore[attr-defined]

    async def main() -> tuple[httpx.Response, httpx.Response, int]:
        async with starlette.router.lifespan_context(starlette):
            hung = await anyio.to_thread.run_sync(store.hanging.wait, DEADLINE_S)
            assert hung, "the background refresher never read the document again"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
                ping = await client.get("/ping", timeout=DEADLINE_S)
                turn = await client.post("/invocations", json={"prompt": SAFE}, timeout=DEADLINE_S)
            reads_meanwhile = store.reads
            hanging_still = not store.release.is_set()
            store.release.set()
        assert hanging_still  # both were answered while the read was blocked
        return ping, turn, reads_meanwhile

    ping, turn, reads = asyncio.run(main())
    assert ping.json()["status"] == "Healthy"
    assert turn.status_code == 200, turn.text
    assert turn.json()["strategy"] == "warm_standby"
    assert reads == 2  # the first reading at start, then the one that hangs
    assert view.current().max_tokens == 512  # the last reading stood meanwhile


def test_outside_serve_the_view_reads_on_demand_as_before() -> None:
    store = HangingStore()
    store.release.set()
    view = OverrideView(store, poll_s=0.0)
    assert not view.refreshed_in_background
    view.current()
    view.current()
    assert store.reads == 2  # ask and chat: each question past poll_s reads the document


def test_while_a_background_refresher_runs_the_view_answers_without_reading() -> None:
    store = HangingStore()
    store.release.set()
    view = OverrideView(store, poll_s=0.0)
    view.refresh()
    view.refreshed_in_background = True  # what refreshing() does under serve
    assert view.current().max_tokens == 512
    assert view.current().max_tokens == 512
    assert store.reads == 1  # the event loop's questions read nothing
