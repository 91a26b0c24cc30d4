"""The DR advisor on the event loop (``AgentRuntime.arun``): the same answer, spans and streamed
text as ``run``, with every model call awaited (no thread from the loop's executor)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.agents.dr.agent import aask, adecide, apending, ask, build_advisor
from agentkit.bedrock.gateway import Gateway
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.emulator.responder import Responder, Script
from agentkit.graph import AgentRuntime, RunResult
from tests.guardrails.fake_secrets import AWS_ACCESS_KEY, AWS_SECRET_KEY

QUESTION = "RTO 15 min RPO 1 min payments-api in us-east-1"
LOSSY = "ledger-api on Aurora in us-east-1, RTO 60 min, RPO 0"  # waits for an approval
SECRET_TEXT = (
    f"Warm standby fits. Rotate {AWS_ACCESS_KEY} and {AWS_SECRET_KEY} after the drill. Done."
)
# The same two model turns for each of two runs (a script's turns are played once).
TWICE = Script.model_validate(
    {"*": [{"tool_use": {"name": "requirements", "input": {}}}, {"text": SECRET_TEXT}] * 2}
)


class NoExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor, failing the test if anything is handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.used: list[Any] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.used.append(fn)
        raise AssertionError(f"the event loop's executor was used for {fn!r}")


def on_the_loop(main: Callable[[], Any]) -> Any:
    """Run ``main()`` on a fresh loop whose default executor refuses work."""

    async def run() -> Any:
        loop = asyncio.get_running_loop()
        executor = NoExecutor()
        loop.set_default_executor(executor)
        result = await main()
        assert not executor.used
        return result

    return asyncio.run(run())


def emulated(emu: Emulator) -> AgentkitConfig:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "endpoints": emu.endpoints,
                "routes": [
                    {"model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "region": "us-east-1"}
                ],
            }
        }
    )


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


def traced(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def comparable(result: RunResult) -> dict[str, Any]:
    """Everything of a result but the wall-clock time it took."""
    fields = dataclasses.asdict(result)
    fields["budget"] = {k: v for k, v in result.budget.items() if k != "elapsed_s"}
    return fields


def tree(finished: tuple[ReadableSpan, ...]) -> list[tuple[str, str | None]]:
    names = {s.context.span_id: s.name for s in finished}
    ordered = sorted(finished, key=lambda s: s.start_time or 0)
    return [(s.name, names.get(s.parent.span_id) if s.parent else None) for s in ordered]


async def closing(runtime: AgentRuntime, work: Any) -> Any:
    try:
        return await work
    finally:
        assert isinstance(runtime.model, Gateway)
        await runtime.model.aclose()


@pytest.mark.emulator(regions=["us-east-1"])
def test_arun_gives_the_same_result_and_spans_as_run(
    bedrock_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    runtime = build_advisor(emulated(bedrock_emulator), tracer_provider=traced(spans))
    inputs = {"question": QUESTION, "history": [QUESTION]}
    synced = runtime.run(inputs, thread_id="same")
    sync_tree = tree(spans.get_finished_spans())
    spans.clear()
    awaited = on_the_loop(lambda: closing(runtime, runtime.arun(inputs, thread_id="same")))
    assert comparable(awaited) == comparable(synced)
    assert awaited.state["answer_source"] == "model"  # the model answered, not a fallback
    assert awaited.answered_by["region"] == "us-east-1"
    assert tree(spans.get_finished_spans()) == sync_tree
    assert len([name for name, _ in sync_tree if name.startswith("chat ")]) == 2


@pytest.mark.emulator(regions=["us-east-1"], responder=Responder(TWICE))
def test_streamed_text_is_guarded_the_same_on_the_loop(bedrock_emulator: Emulator) -> None:
    runtime = build_advisor(emulated(bedrock_emulator))
    synced: list[str] = []
    sync_answer = ask(runtime, QUESTION, "s-sync", on_text=synced.append)
    awaited: list[str] = []
    async_answer = on_the_loop(
        lambda: closing(runtime, aask(runtime, QUESTION, "s-async", on_text=awaited.append))
    )
    assert awaited == synced  # the same pieces, held back and released the same way
    assert "".join(awaited).startswith("Warm standby fits.")
    for secret in (AWS_ACCESS_KEY, AWS_SECRET_KEY):
        assert secret not in "".join(awaited)
    assert async_answer.answer == sync_answer.answer


def test_an_approval_pauses_and_resumes_on_the_loop() -> None:
    """No model tier: the deterministic engine answers; the pause and the resume are async."""
    runtime = build_advisor(AgentkitConfig(), model=None, checkpointer=InMemorySaver())

    async def turn() -> Any:
        paused = await aask(runtime, LOSSY, "ledger-1")
        waiting = await apending(runtime, "ledger-1")
        resumed = await adecide(runtime, "ledger-1", True, "dana")
        return paused, waiting, resumed, await apending(runtime, "ledger-1")

    paused, waiting, resumed, after = on_the_loop(turn)
    assert paused.approval is not None
    assert paused.approval["status"] == "pending"
    assert waiting is not None
    assert waiting.reasons == paused.approval["reasons"]
    assert resumed.approval == {"status": "approved", "by": "dana", "reasons": waiting.reasons}
    assert after is None


def test_arun_grounds_the_answer_in_the_same_knowledge_base_sources_as_run(
    bedrock_emulator: Emulator,
) -> None:
    from tests.agents.dr.test_sources import EAST, PRIMARY, SECONDARY, WEST, corpus, settings

    bedrock_emulator.set_knowledge(
        {PRIMARY: {EAST: corpus(PRIMARY)}, SECONDARY: {WEST: corpus(SECONDARY)}}
    )
    question = "orders-api on Aurora in Ohio, RTO 30 min, RPO 5 min"
    runtime = build_advisor(settings(bedrock_emulator))
    try:
        synced = ask(runtime, question, "sync")
        awaited = on_the_loop(lambda: closing(runtime, aask(runtime, question, "async")))
    finally:
        assert runtime.tools is not None
        runtime.tools.close()

    def cited(answer: Any) -> list[str]:
        (search,) = [c for c in answer.tool_calls if c["name"] == "knowledge_search"]
        return [r["citation"]["uri"] for r in search["output"]["results"]]

    assert cited(awaited) == cited(synced) == [f"s3://dr-docs-{PRIMARY}/aurora.md"]
    assert "- [S1] Aurora Global Database replicates to a secondary Region" in synced.answer
    assert awaited.answer == synced.answer  # the same sources block, citations and relevance
    assert awaited.source == synced.source
