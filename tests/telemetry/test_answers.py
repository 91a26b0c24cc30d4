"""Answer metrics per capability: the outcome of a run, and the decorator the runtime's ``run``
and ``arun`` wear."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.config import TelemetryConfig
from agentkit.errors import InputError, ToolNotConfigured
from agentkit.ops.document import STOP_REASON, KillSwitchOn, Overrides
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.answers import KILL_SWITCH, AnswerMetrics, outcome_of, records_answer
from agentkit.telemetry.setup import start


@dataclass(frozen=True)
class Result:
    stop_reason: str = "completed"
    degraded: bool = False


@pytest.mark.parametrize(
    ("result", "outcome", "attributes"),
    [
        (Result(), "ok", {}),
        (Result(degraded=True), "degraded", {}),
        (Result("interrupted"), "paused", {}),
        (Result("budget_exceeded:tokens"), "error", {sc.STOP_REASON: "budget_exceeded"}),
        (Result("kill_switch"), "refused", {sc.STOP_REASON: "kill_switch"}),
        (Result("recursion_limit", degraded=True), "error", {sc.STOP_REASON: "recursion_limit"}),
    ],
)
def test_the_outcome_of_a_run(result: Result, outcome: str, attributes: dict[str, str]) -> None:
    assert outcome_of(result) == (outcome, attributes)


class Runtime:
    name = "advisor"

    def __init__(self, results: list[Any]) -> None:
        self.results = results
        self.answers = AnswerMetrics()  # the providers in scope when it is built

    def _next(self) -> Result:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    @records_answer
    def run(self, question: str) -> Result:
        return self._next()

    @records_answer
    async def arun(self, question: str) -> Result:
        await asyncio.sleep(0)
        return self._next()


def recorded(reader: InMemoryMetricReader) -> dict[str, list[dict[str, Any]]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: [dict(p.attributes or {}) for p in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_run_and_arun_record_one_answer_each_with_its_outcome() -> None:
    reader = InMemoryMetricReader()
    telemetry = start(TelemetryConfig(), metric_readers=[reader])
    refused = KillSwitchOn(Overrides(kill_switch=True))
    mistake = InputError("residency: 'atlantis' is not a geography")
    setting = ToolNotConfigured("knowledge_search: no knowledge_bases in agentkit.yaml")
    with telemetry.scope():
        results = [Result(), Result(degraded=True), ValueError("boom"), refused, mistake, setting]
        runtime = Runtime(results)
        assert runtime.run("q") == Result()
        assert asyncio.run(runtime.arun("q")) == Result(degraded=True)
        with pytest.raises(ValueError, match="boom"):
            runtime.run("q")
        with pytest.raises(KillSwitchOn):
            runtime.run("q")
        with pytest.raises(InputError):
            asyncio.run(runtime.arun("q"))
        with pytest.raises(ToolNotConfigured):  # the deployment's mistake, not the user's
            runtime.run("q")
    metrics = recorded(reader)
    telemetry.shutdown()
    answers = sorted(
        metrics[sc.METRIC_ANSWERS], key=lambda p: (p[sc.OUTCOME], p.get(sc.ERROR_TYPE, ""))
    )
    assert answers == [
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "degraded"},
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "error", sc.ERROR_TYPE: "ToolNotConfigured"},
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "error", sc.ERROR_TYPE: "ValueError"},
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "ok"},
        # on purpose or the user's mistake: outside the success ratio (agentkit.observe.burn)
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "refused", sc.ERROR_TYPE: "KillSwitchOn"},
        {sc.AGENT_NAME: "advisor", sc.OUTCOME: "rejected", sc.ERROR_TYPE: "InputError"},
    ]
    assert len(metrics[sc.METRIC_ANSWER_DURATION]) == 6
    assert KILL_SWITCH == STOP_REASON  # the one name, seen from below the ops layer
    assert Runtime.run.__name__ == "run"
    assert inspect.iscoroutinefunction(Runtime.arun)


def test_a_runtime_built_in_a_telemetry_scope_records_its_runs_after_the_scope_ends() -> None:
    """`agentkit serve` builds the advisor inside its telemetry scope and answers requests
    outside it: the answers and guardrail events still reach that scope's meter provider."""
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, StateGraph

    from agentkit.graph import AgentRuntime, run_context

    def answer(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        run_context(config).guardrail_event("input", "blocked", "prompt injection (override)")
        return {"answer": "ok"}

    graph: StateGraph[dict[str, Any], Any, Any, Any] = StateGraph(dict)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    reader = InMemoryMetricReader()
    telemetry = start(TelemetryConfig(), metric_readers=[reader])
    with telemetry.scope():
        runtime = AgentRuntime("served", graph)
    runtime.run({})
    asyncio.run(runtime.arun({}))
    metrics = recorded(reader)
    telemetry.shutdown()
    assert metrics[sc.METRIC_ANSWERS] == [{sc.AGENT_NAME: "served", sc.OUTCOME: "ok"}]
    assert len(metrics[sc.METRIC_ANSWER_DURATION]) == 1  # one series, both runs in it
    assert metrics[sc.METRIC_GUARDRAIL_EVENTS] == [
        {sc.GUARD: "input", sc.GUARDRAIL_ACTION: "blocked", sc.GUARDRAIL_KIND: "injection"}
    ]
