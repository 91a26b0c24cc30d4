"""Prompt caching and time to first shown token, against the emulator.

    python -m bench.prompt_cache [--turns 10] [--runs 20]

1. Input tokens billed: the same DR advisor turns (a question, then others about the same
   workload and requirements) run twice in the same run, with the stable prefix marked with a
   ``cachePoint`` (what agentkit sends) and with the marks removed. The emulator's prompt cache
   (5-minute TTL) bills ``inputTokens`` for what is not read from or written to the cache, as
   Bedrock does.
   Printed: the input tokens billed at the full input price each way and their ratio, the cache
   reads and writes (billed at the model's cache prices, not in agentkit's price table), and the
   measured hit ratio to give ``agentkit capacity --cache-hit-ratio``.
2. Time to first token: ``chat``'s streamed answer goes through the output guard
   (``agentkit.guardrails.stream``), which holds text back until a sentence is complete. The
   emulator streams four words per event (time to first token 200 ms, 50 ms between events);
   the time from the start of the turn to the first raw text delta and to the first text shown
   are measured on the same turns, and their ratio printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentkit.agents.dr.agent import ask, build_advisor
from agentkit.bedrock.gateway import Gateway
from agentkit.bedrock.types import ModelRequest, ModelResponse, ModelStream
from agentkit.capacity.formulas import measured_hit_rate
from agentkit.config import load_config
from agentkit.emulator import Emulator
from agentkit.resilience.budget import RunBudget

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
REGION = "us-east-1"
QUESTION = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
FOLLOW_UPS = (  # the same workload and requirements, asked about from other angles
    "For payments-api on DynamoDB in us-east-1 with RTO 15 min and RPO 1 min, which runbook do "
    "we start with?",
    "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min: what are the caveats of this "
    "plan?",
    "Which Region do we recover payments-api into? It is on DynamoDB in us-east-1, RTO 15 min, "
    "RPO 1 min.",
    "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min. What does the data store need?",
)
# The emulator's reply echoes the question's first words: these give it sentence ends.
STREAMED = "Plan DR for payments-api. It runs on DynamoDB in us-east-1. RTO 15 min. RPO 1 min."
STREAM_FAULTS = {"ttft_ms": 200, "inter_event_ms": 50}


class Probe:
    """The gateway, as the advisor sees it: optionally without cachePoints, and timing the
    first raw text delta of each stream."""

    def __init__(self, gateway: Gateway, *, cache: bool = True) -> None:
        self.gateway = gateway
        self.cache = cache
        self.first_raw: float | None = None

    def _request(self, request: ModelRequest) -> ModelRequest:
        return request if self.cache else replace(request, cached_system_blocks=None)

    def converse(self, request: ModelRequest, *, budget: RunBudget | None = None) -> ModelResponse:
        return self.gateway.converse(self._request(request), budget=budget)

    def converse_stream(
        self, request: ModelRequest, *, budget: RunBudget | None = None
    ) -> ModelStream:
        return _TimedStream(
            self.gateway.converse_stream(self._request(request), budget=budget), self
        )


@dataclass
class _TimedStream:
    inner: ModelStream
    probe: Probe

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.inner:
            delta = event.get("contentBlockDelta", {}).get("delta", {})
            if "text" in delta and self.probe.first_raw is None:
                self.probe.first_raw = time.perf_counter()
            yield event

    @property
    def response(self) -> ModelResponse:
        return self.inner.response


def write_config(directory: Path, emu: Emulator) -> Path:
    path = directory / "agentkit.yaml"
    path.write_text(
        f"models:\n  residency: us\n  routes:\n    - {{model: {MODEL}, region: {REGION}}}\n"
        f'  endpoints: {{{REGION}: "{emu.endpoints[REGION]}"}}\n'
    )
    return path


@dataclass(frozen=True)
class Billed:
    full_rate: int  # inputTokens: billed at the input price
    cache_read: int
    cache_write: int
    prompt: int  # every input token


def session(emu: Emulator, config: Path, *, cache: bool, turns: int, name: str) -> Billed:
    emu.clear_calls()
    gateway = Gateway.from_config(load_config(config))
    try:
        runtime = build_advisor(load_config(config), model=Probe(gateway, cache=cache))
        questions = [QUESTION, *FOLLOW_UPS]
        for turn in range(turns):
            ask(runtime, questions[turn % len(questions)], session=name)
    finally:
        gateway.close()
    calls = [c for c in emu.calls() if c.operation == "Converse"]
    return Billed(
        full_rate=sum(c.input_tokens for c in calls),
        cache_read=sum(c.cache_read_tokens for c in calls),
        cache_write=sum(c.cache_write_tokens for c in calls),
        prompt=sum(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens for c in calls),
    )


def first_tokens(emu: Emulator, config: Path, runs: int) -> tuple[list[float], list[float]]:
    emu.set_faults({"regions": {REGION: {"stream": STREAM_FAULTS}}})
    gateway = Gateway.from_config(load_config(config))
    raw: list[float] = []
    shown: list[float] = []
    try:
        probe = Probe(gateway)
        runtime = build_advisor(load_config(config), model=probe)
        for _ in range(runs):
            probe.first_raw = None
            first_shown: list[float] = []

            def on_text(text: str, first: list[float] = first_shown) -> None:
                if text and not first:
                    first.append(time.perf_counter())

            started = time.perf_counter()
            answer = ask(runtime, STREAMED, on_text=on_text)
            if probe.first_raw is None or not first_shown or answer.source != "model":
                raise SystemExit("the streamed answer did not come from the model: no figure")
            raw.append((probe.first_raw - started) * 1000)
            shown.append((first_shown[0] - started) * 1000)
    finally:
        gateway.close()
        emu.set_faults(None)
    return raw, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with Emulator([REGION]) as emu, tempfile.TemporaryDirectory() as directory:
        config = write_config(Path(directory), emu)
        cached = session(emu, config, cache=True, turns=args.turns, name="cached")
        emu.service.prompt_cache.clear()
        plain = session(emu, config, cache=False, turns=args.turns, name="plain")
        raw, shown = first_tokens(emu, config, args.runs)
    print(f"DR advisor session, {args.turns} turns ({MODEL}, emulator):")
    print(
        f"  prompt tokens                  {plain.prompt:>8,}  (same both ways: {cached.prompt:,})"
    )
    print(f"  input billed, no cachePoint    {plain.full_rate:>8,}")
    print(
        f"  input billed, with cachePoint  {cached.full_rate:>8,}"
        f"  + {cached.cache_write:,} cache writes, {cached.cache_read:,} cache reads"
    )
    print(f"  ratio billed (cached / plain)  {cached.full_rate / plain.full_rate:>8.2f}")
    written = (cached.full_rate + cached.cache_write) / plain.full_rate
    print(f"  ... counting cache writes too  {written:>8.2f}")
    hit = measured_hit_rate(cached.cache_read, cached.cache_write)
    if hit is not None:
        print(
            f"  measured hit ratio             {hit:>8.2f}  (agentkit capacity --cache-hit-ratio)"
        )
    raw_ms, shown_ms = statistics.median(raw), statistics.median(shown)
    print(f"time to first token, chat's guarded stream, median of {args.runs} turns:")
    print(f"  first raw streamed token       {raw_ms:>8.1f} ms")
    print(f"  first shown (guarded) token    {shown_ms:>8.1f} ms")
    print(f"  ratio shown / raw              {shown_ms / raw_ms:>8.2f}")


if __name__ == "__main__":
    main()
