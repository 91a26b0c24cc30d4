"""The gateway's parts on their own: the route chain, admission, hedging, and the seam between a
stream and the gateway that opened it (no gateway, no emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, cast

import pytest
from opentelemetry.metrics import NoOpMeter

from agentkit.bedrock.admission import SPILL, AdmissionGate, Answered
from agentkit.bedrock.attempts import CallContext
from agentkit.bedrock.call import CallRecorder
from agentkit.bedrock.hedging import Hedger
from agentkit.bedrock.routing import RouteChain
from agentkit.bedrock.stream import GatewayStream, prime_stream
from agentkit.bedrock.types import ModelRequest, ModelResponse
from agentkit.capacity.bucket import TokenBucket
from agentkit.config import GuardrailRef, Route
from agentkit.errors import AgentkitError, StreamInterrupted, Unavailable
from agentkit.resilience.admission import Admission, Ticket
from agentkit.resilience.breaker import BreakerPolicy, MemoryBreakerStore
from agentkit.resilience.budget import BudgetLimits, RunBudget
from agentkit.resilience.clock import FakeClock
from agentkit.telemetry.metrics import GatewayMetrics

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
EAST = Route(model=SONNET, region="us-east-1")
WEST = Route(model=SONNET, region="us-west-2")
OHIO = Route(model=NOVA, region="us-east-2")
TICKET = cast(Ticket, "a ticket")  # the stream only hands it back to its owner
HI = [{"role": "user", "content": [{"text": "hi"}]}]


class FakeSpan:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ended = 0

    def add_event(self, name: str, attributes: dict[str, Any]) -> None:
        self.events.append((name, attributes))

    def end(self) -> None:
        self.ended += 1


class FakeRecorder:
    """The parts of :class:`CallRecorder` the pieces under test use."""

    def __init__(self) -> None:
        self.span = FakeSpan()
        self.attempts: list[Any] = []
        self.skips: list[tuple[str, str]] = []
        self.failures: list[BaseException] = []
        self.successes: list[tuple[ModelResponse, Route]] = []

    def skipped(self, route: Route, reason: str) -> None:
        self.skips.append((route.name, reason))

    def failed(self, error: BaseException) -> None:
        self.failures.append(error)

    def succeeded(self, response: ModelResponse, route: Route, duration_s: float) -> None:
        self.successes.append((response, route))


class Owner:
    """A stream's owner that only writes down what it is told."""

    def __init__(self, translated: AgentkitError | None = None) -> None:
        self.translated = translated
        self.settled: list[tuple[Ticket | None, ModelResponse | None]] = []
        self.interruptions: list[tuple[Route, BaseException]] = []

    def settle(self, ticket: Ticket | None, response: ModelResponse | None) -> None:
        self.settled.append((ticket, response))

    def interrupted(self, route: Route, exc: BaseException) -> AgentkitError | None:
        self.interruptions.append((route, exc))
        return self.translated


class Source:
    """A ConverseStream event stream that fails after ``fail_after`` events, if given."""

    def __init__(self, events: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.events = events
        self.fail_after = fail_after
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for number, event in enumerate(self.events):
            if number == self.fail_after:
                raise ConnectionResetError("peer went away")
            yield event

    def close(self) -> None:
        self.closed = True


def delta(text: str) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}}


EVENTS = [
    {"messageStart": {"role": "assistant"}},
    delta("hel"),
    delta("lo"),
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}}},
]


def stream_of(
    source: Source, owner: Owner, recorder: FakeRecorder, budget: RunBudget | None = None
) -> GatewayStream:
    primed = prime_stream({"stream": source})
    return GatewayStream(owner, primed, EAST, cast(CallRecorder, recorder), budget, 0.0, TICKET)


def test_a_finished_stream_settles_through_its_owner_and_counts_its_usage() -> None:
    owner, recorder, source = Owner(), FakeRecorder(), Source(EVENTS)
    budget = RunBudget(BudgetLimits())
    stream = stream_of(source, owner, recorder, budget)
    assert "".join(stream.text()) == "hello"
    response = stream.response
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 2)
    assert owner.settled == [(TICKET, response)]
    assert recorder.successes == [(response, EAST)]
    assert (budget.input_tokens, budget.output_tokens) == (3, 2)
    assert owner.interruptions == []
    assert source.closed
    assert recorder.span.ended == 1


def test_a_failure_after_content_is_translated_by_the_owner_and_interrupts() -> None:
    owner = Owner(translated=Unavailable("connection dropped", code="ConnectionClosed"))
    recorder, source = FakeRecorder(), Source(EVENTS, fail_after=3)
    stream = stream_of(source, owner, recorder)
    delivered: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        delivered.extend(stream.text())
    assert delivered == ["hel", "lo"]
    assert (caught.value.delivered_events, caught.value.delivered_chars) == (3, 5)
    assert caught.value.code == "ConnectionClosed"
    assert [(route, type(exc)) for route, exc in owner.interruptions] == [
        (EAST, ConnectionResetError)
    ]
    assert owner.settled == [(TICKET, None)]  # nothing counted as used
    assert recorder.successes == []
    assert recorder.failures == [caught.value]
    assert source.closed


def test_a_callers_bug_mid_stream_is_raised_unchanged() -> None:
    owner, recorder = Owner(translated=None), FakeRecorder()
    stream = stream_of(Source(EVENTS, fail_after=2), owner, recorder)
    with pytest.raises(ConnectionResetError):
        list(stream)
    assert len(owner.interruptions) == 1
    assert owner.settled == [(TICKET, None)]


def chain(guardrails: dict[str, GuardrailRef] | None = None) -> RouteChain:
    clock = FakeClock()
    return RouteChain(
        (EAST, WEST, OHIO),
        policy=BreakerPolicy(),
        clock=clock,
        store=MemoryBreakerStore(clock),
        listeners=(),
        guardrails=guardrails or {},
        metrics=GatewayMetrics(NoOpMeter("test")),
    )


def test_with_guardrails_a_region_without_one_is_no_fallback() -> None:
    routes = chain({"us-east-1": GuardrailRef(id="g1"), "us-east-2": GuardrailRef(id="g2")})
    recorder = FakeRecorder()
    request = ModelRequest(messages=HI)
    eligible = routes.eligible(request, cast(CallRecorder, recorder))
    assert eligible == (EAST, OHIO)
    assert recorder.skips == [(WEST.name, "NoGuardrailInRegion")]
    streamed = routes.converse_kwargs(request, OHIO, stream=True)
    assert streamed["guardrailConfig"] == {
        "guardrailIdentifier": "g2",
        "guardrailVersion": "DRAFT",
        "streamProcessingMode": "sync",
    }
    assert "streamProcessingMode" not in routes.converse_kwargs(request, EAST)["guardrailConfig"]


def test_a_request_with_its_own_guardrail_may_use_every_route() -> None:
    routes = chain({"us-east-1": GuardrailRef(id="g1")})
    own = ModelRequest(messages=HI, guardrail={"guardrailIdentifier": "mine"})
    assert routes.eligible(own, cast(CallRecorder, FakeRecorder())) == (EAST, WEST, OHIO)
    sent = routes.converse_kwargs(own, EAST)["guardrailConfig"]
    assert sent == {"guardrailIdentifier": "mine"}  # the request's own, not the Region's


def test_skip_reasons_and_breaker_lookup() -> None:
    routes = chain()
    assert routes.skip_reason(EAST, set()) is None
    assert routes.skip_reason(EAST, {SONNET}) == "ModelUnsupported"
    routes.disabled[OHIO.name] = "policy deny"
    assert routes.skip_reason(OHIO, set()) == "RouteDisabled"
    assert routes.breaker(WEST) is routes.breakers[WEST.name]
    assert routes.states() == dict.fromkeys((EAST.name, WEST.name, OHIO.name), "closed")


def gate(clock: FakeClock) -> AdmissionGate:
    buckets = {EAST.name: TokenBucket(10_000, clock=clock)}
    admission = Admission(buckets, {EAST.name: 1.0}, clock=clock)
    return AdmissionGate(admission, chain().converse_kwargs)


def call(recorder: FakeRecorder) -> CallContext:
    request = ModelRequest(messages=HI, max_tokens=100)
    return CallContext(request, None, cast(CallRecorder, recorder), deadline=60.0)


def level(admitting: AdmissionGate) -> float:
    assert admitting.admission is not None
    return admitting.admission.state()[EAST.name].level


def test_a_failed_run_gives_its_reservation_back() -> None:
    admitting = gate(FakeClock())
    ticket = admitting.admit(EAST, call(FakeRecorder()))
    assert isinstance(ticket, Ticket)
    assert level(admitting) < 10_000

    def fails(route: Route) -> None:
        raise Unavailable("down")

    with pytest.raises(Unavailable):
        admitting.holding(EAST, ticket, fails)
    assert level(admitting) == pytest.approx(10_000)


def test_no_headroom_spills_and_an_uncontrolled_route_needs_no_ticket() -> None:
    clock = FakeClock()
    buckets = {EAST.name: TokenBucket(50, clock=clock)}
    admitting = AdmissionGate(
        Admission(buckets, {EAST.name: 1.0}, clock=clock), chain().converse_kwargs
    )
    recorder = FakeRecorder()
    assert admitting.admit(EAST, call(recorder)) is SPILL
    assert recorder.skips == [(EAST.name, "NoHeadroom")]
    assert admitting.admit(WEST, call(recorder)) is None


def test_a_losing_hedge_leg_is_settled_on_what_it_used() -> None:
    admitting = gate(FakeClock())
    ticket = admitting.admit(EAST, call(FakeRecorder()))
    assert isinstance(ticket, Ticket)
    lost: Future[Answered[Any]] = Future()
    lost.set_result(({"usage": {"inputTokens": 10, "outputTokens": 20}}, EAST, ticket))
    admitting.settle_abandoned(lost)
    assert level(admitting) == pytest.approx(10_000 - 30)


def test_only_the_first_route_is_hedged_by_the_next_usable_one() -> None:
    hedger = Hedger(0.05, AdmissionGate(None, chain().converse_kwargs))
    try:
        routes = (EAST, WEST, OHIO)
        assert hedger.partner(routes, 0, set()) == WEST
        assert hedger.partner(routes, 0, {SONNET}) == OHIO
        assert hedger.partner(routes, 1, set()) is None
        assert hedger.partner((EAST,), 0, set()) is None
    finally:
        hedger.close()
