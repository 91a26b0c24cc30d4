"""``agentkit serve`` re-reads the operator overrides off the event loop: a read that hangs (Redis
down until its socket timeout, AppConfig retrying a failing endpoint) stalls no request."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import anyio.to_thread
import httpx
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

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


class StoreThatFailsOnce:
    """Reads 512, then one read raises a bug's RuntimeError, then every read answers 256."""

    where = "a store that fails once"

    def __init__(self) -> None:
        self.reads = 0
        self.read_after_the_fresh_one = threading.Event()

    def read(self) -> Overrides:
        self.reads += 1
        if self.reads == 2:
            raise RuntimeError("the store's bug")
        if self.reads >= 4:  # refreshes run one after another: read 3's result is applied
            self.read_after_the_fresh_one.set()
        max_tokens = "512" if self.reads == 1 else "256"
        return Overrides.from_fields({"max_tokens": max_tokens}, {"by": "oncall"})

    def update(self, change: Change) -> Overrides:
        raise AssertionError("serve never writes the document")

    def close(self) -> None:
        pass


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


def test_a_read_that_raises_keeps_serve_answering_and_the_next_reading_is_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = AgentkitConfig()
    store = StoreThatFailsOnce()
    reader = InMemoryMetricReader()
    view = OverrideView(store, poll_s=0.01, meter_provider=MeterProvider([reader]))
    runtime = build_advisor(config, model=FunctionModel(answer), checkpointer=InMemorySaver())
    advisor = Advisor(config, runtime, None, overrides=view)
    app = create_app(advisor, ServeSettings())
    starlette = app.app  # type: ignore[attr-defined]

    async def main() -> tuple[httpx.Response, int | None, bool]:
        async with starlette.router.lifespan_context(starlette):
            fresh = await anyio.to_thread.run_sync(store.read_after_the_fresh_one.wait, DEADLINE_S)
            assert fresh, "the refresher stopped reading after the read that raised"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
                turn = await client.post("/invocations", json={"prompt": SAFE}, timeout=DEADLINE_S)
            max_tokens = view.current().max_tokens
            in_background = view.refreshed_in_background
        return turn, max_tokens, in_background

    with caplog.at_level(logging.WARNING, logger="agentkit.ops"):
        turn, max_tokens, in_background = asyncio.run(main())
    assert turn.status_code == 200, turn.text  # the advisor was not closed under serve
    assert max_tokens == 256  # the reading after the failure
    assert in_background  # the loop never went back to reading on the event loop
    failed = [r for r in caplog.records if "RuntimeError: the store's bug" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].exc_info is None  # one line, no traceback
    assert sum(p.value for p in _points(reader, "agentkit.ops.read_failures")) == 1


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]
