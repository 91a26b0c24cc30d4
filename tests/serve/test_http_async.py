"""`agentkit serve` runs turns on the event loop: many sessions at once on one thread.

The loop's default executor is replaced by one that fails the test if anything is handed to it,
and a model that holds every turn until all of them are in flight proves they run at once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

import httpx
from langgraph.checkpoint.memory import InMemorySaver

from agentkit.agents.dr.agent import build_advisor
from agentkit.agents.tools import builtin_registry
from agentkit.bedrock.types import ModelRequest, ModelResponse
from agentkit.config import AgentkitConfig
from agentkit.resilience.budget import RunBudget
from agentkit.serve.http import create_app
from agentkit.serve.http_service import SESSION_HEADER, Advisor, ServeSettings
from agentkit.testing import as_response
from agentkit.tools.bulkhead import BulkheadPolicy

SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
TURNS = 50


class NoExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor, failing the test if anything is handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.used: list[Any] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.used.append(fn)
        raise AssertionError(f"the event loop's executor was used for {fn!r}")


class Rendezvous:
    """An async model: each turn's extraction waits until ``expected`` turns are waiting."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.waiting = 0
        self.all_in = asyncio.Event()
        self.threads_when_all_in = 0

    def converse(self, request: ModelRequest, *, budget: RunBudget | None = None) -> Any:
        raise AssertionError("serve must await aconverse")

    def converse_stream(self, request: ModelRequest, *, budget: RunBudget | None = None) -> Any:
        raise AssertionError("serve must await aconverse_stream")

    async def aconverse(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> ModelResponse:
        if not request.tools:  # compose
            return as_response("Warm standby fits.", request)
        self.waiting += 1
        if self.waiting == self.expected:
            self.threads_when_all_in = threading.active_count()
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), timeout=120)
        return as_response({"toolUse": {"name": "requirements", "input": {}}}, request)

    async def aconverse_stream(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> Any:
        raise AssertionError("this test asks for JSON answers")


def test_50_sessions_are_answered_at_once_on_the_loop_with_no_thread_per_turn() -> None:
    # Per-session turns (as on PostgreSQL): SQLite's store would take them one at a time.
    config = AgentkitConfig.model_validate(
        {"sessions": {"backend": "postgres", "dsn": "postgresql://unused@127.0.0.1/none"}}
    )
    model = Rendezvous(TURNS)
    # The turns reach the tools together: each tool's queue takes them all (the default bulkhead,
    # 4 running and 16 waiting, would refuse the rest with ToolBusy, as it should).
    room = BulkheadPolicy(max_concurrent=4, max_queue=TURNS)
    tools = builtin_registry(bulkheads={"dr_advisor": room, "failover_runbook": room})
    runtime = build_advisor(config, model=model, checkpointer=InMemorySaver(), tools=tools)
    settings = ServeSettings(capacity=TURNS)
    app = create_app(Advisor(config, runtime, None), settings)
    starlette = app.app  # type: ignore[attr-defined]

    async def main() -> tuple[list[httpx.Response], int, NoExecutor]:
        executor = NoExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        before = threading.active_count()
        async with starlette.router.lifespan_context(starlette):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
                responses = await asyncio.gather(
                    *(
                        client.post(
                            "/invocations",
                            json={"prompt": SAFE, "session_id": f"s-{n}"},
                            timeout=120,
                        )
                        for n in range(TURNS)
                    )
                )
                ping = (await client.get("/ping")).json()["status"]
        assert ping == "Healthy"  # every turn finished
        return responses, before, executor

    responses, before, executor = asyncio.run(main())
    assert not executor.used
    assert model.all_in.is_set()  # all 50 turns were in flight together
    # A thread per turn would add 50 threads; on the loop, none was started for them.
    assert model.threads_when_all_in <= before
    for n, response in enumerate(responses):
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["session"], answer["strategy"]) == (f"s-{n}", "warm_standby")
        assert answer["answer_source"] == "model"
        assert response.headers[SESSION_HEADER] == f"s-{n}"
