"""Runtime overhead per agent step, without model time.

    python -m bench.runtime [--runs 300]

The DR advisor workflow (guard input, extract, advise with two validated tool calls, compose,
guard output: 7 graph steps) runs with an instant in-process model, so what is measured is the
graph, schema validation, guardrails and tracing. The baseline, measured in the same run, is the
same two tool functions called directly with no graph, no validation and no guards.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit.agents.dr.advisor import advise
from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.bedrock.types import ModelRequest
from agentkit.config import AgentkitConfig
from agentkit.runbooks.tool import find_runbooks
from agentkit.testing import FunctionModel

QUESTION = (
    "Payments API, Aurora + DynamoDB in eu-west-1, RTO 15 min, RPO 1 min, data must stay in the EU"
)
REQUEST = {
    "workload": "payments-api",
    "rto_minutes": 15,
    "rpo_minutes": 1,
    "primary_region": "eu-west-1",
    "residency": ["eu"],
    "data_stores": [{"name": "aurora", "type": "aurora"}, {"name": "dynamodb", "type": "dynamodb"}],
}
STEPS = 7


def instant(request: ModelRequest) -> str | dict[str, object]:
    if request.tool_choice:
        return {"toolUse": {"name": "requirements", "input": {}}}
    return "Use warm standby in eu-west-2."


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    plain = build_advisor(AgentkitConfig(), model=FunctionModel(instant))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = build_advisor(AgentkitConfig(), model=FunctionModel(instant), tracer_provider=provider)

    def direct() -> None:
        advice = advise(REQUEST)
        find_runbooks({"runbook_ids": advice["runbooks"], "strategy": advice["strategy"]})

    def traced_run() -> None:
        ask(traced, QUESTION)
        exporter.clear()

    for fn in (direct, lambda: ask(plain, QUESTION), traced_run):
        median_ms(fn, 20)  # warm up
    base = median_ms(direct, args.runs)
    run = median_ms(lambda: ask(plain, QUESTION), args.runs)
    with_traces = median_ms(traced_run, args.runs)
    print(f"DR advisor turn, median of {args.runs}, instant model ({STEPS} graph steps):")
    print(f"  tool functions called directly   {base:8.2f} ms   (baseline)")
    print(f"  full workflow, no tracing        {run:8.2f} ms   ({run / base:.1f}x baseline)")
    ratio = with_traces / base
    print(f"  full workflow, SDK tracing       {with_traces:8.2f} ms   ({ratio:.1f}x baseline)")
    print(
        f"  runtime overhead per step        {(run - base) / STEPS:8.2f} ms   "
        f"({(with_traces - base) / STEPS:.2f} ms with tracing)"
    )


if __name__ == "__main__":
    main()
