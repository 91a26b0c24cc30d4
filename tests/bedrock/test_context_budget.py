"""The context budget: each request is sized before it is sent (agentkit.bedrock.sizing)."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.bedrock.call import INPUT_TOKENS, INPUT_TOKENS_SOURCE
from agentkit.bedrock.sizing import COUNT_MARGIN, route_window, window_table
from agentkit.bedrock.tokens import text_tokens
from agentkit.config import Route
from agentkit.emulator import Emulator
from agentkit.errors import Action, ContextOverflow, ContextWindowExceeded

from .conftest import NOVA, PRIMARY, SECONDARY, SONNET, TERTIARY, GatewayFactory, config
from .test_async_gateway import converse as aconverse

HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"  # the table says CountTokens takes it
WINDOW = 1_000  # a route's configured window, small so that tests stay small


def words(tokens: int) -> list[dict[str, Any]]:
    """A user message of about ``tokens`` tokens by agentkit's counting rule."""
    text = "abcd" * tokens
    assert text_tokens(text) == tokens
    return [{"role": "user", "content": [{"text": text}]}]


def routes(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"routes": list(entries)}


def operations(emu: Emulator) -> list[tuple[str, str]]:
    return [(c.operation, c.region) for c in emu.calls()]


# --- the table ---------------------------------------------------------------------------------


def test_every_row_of_the_table_has_a_source_and_only_sourced_figures() -> None:
    import json

    from agentkit.bedrock.sizing import TABLE_PATH

    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    for row in raw["models"]:
        source = raw["sources"][row["source"]]
        assert source["url"].startswith("https://")
        assert source["read"]
    assert window_table().lookup(SONNET) is not None
    assert route_window(Route(model=SONNET, region=PRIMARY)) == 200_000
    assert route_window(Route(model=NOVA, region=PRIMARY, context_window=WINDOW)) == WINDOW
    # A model without a sourced window is unknown: only the configured limit applies.
    assert route_window(Route(model="us.meta.llama3-3-70b-instruct-v1:0", region=PRIMARY)) is None


# --- the gateway --------------------------------------------------------------------------------


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_far_from_the_window_the_estimate_sizes_the_request_and_nothing_more_is_called(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        config(bedrock_emulator, models=routes({"model": HAIKU_35, "region": PRIMARY}))
    )
    response = gateway.converse(messages=words(100), max_tokens=256)
    assert operations(bedrock_emulator) == [("Converse", PRIMARY)]
    [attempt] = response.attempts
    assert (attempt.input_tokens, attempt.input_tokens_source) == (100, "estimate")
    [span] = make_gateway.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[INPUT_TOKENS] == 100
    assert span.attributes[INPUT_TOKENS_SOURCE] == "estimate"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_near_the_window_count_tokens_on_the_route_sizes_it(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": HAIKU_35, "region": PRIMARY, "context_window": WINDOW}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    near = int(WINDOW * (1 - COUNT_MARGIN)) - 256 + 10  # estimate + max_tokens past the margin
    response = gateway.converse(messages=words(near), max_tokens=256)
    assert operations(bedrock_emulator) == [("CountTokens", PRIMARY), ("Converse", PRIMARY)]
    counted = bedrock_emulator.calls()[0]
    assert counted.model == "anthropic.claude-3-5-haiku-20241022-v1:0"  # the bare model ID
    [attempt] = response.attempts
    assert (attempt.input_tokens, attempt.input_tokens_source) == (near, "count_tokens")


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_route_that_asks_for_exact_counting_is_always_counted(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    response = gateway.converse(messages=words(10), max_tokens=256)
    assert operations(bedrock_emulator) == [("CountTokens", PRIMARY), ("Converse", PRIMARY)]
    assert response.attempts[0].input_tokens_source == "count_tokens"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_failed_count_falls_back_to_the_estimate(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    bedrock_emulator.set_faults(
        {
            "regions": {
                PRIMARY: {
                    "errors": [{"code": "InternalServerException", "operations": ["CountTokens"]}]
                }
            }
        }
    )
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    response = gateway.converse(messages=words(10), max_tokens=256)
    assert response.attempts[-1].input_tokens_source == "estimate"
    assert response.attempts[-1].outcome == "ok"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_request_over_the_window_fails_before_anything_is_sent(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": HAIKU_35, "region": PRIMARY, "context_window": WINDOW}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    with pytest.raises(ContextWindowExceeded) as caught:
        gateway.converse(messages=words(900), max_tokens=256)
    # Only the count was asked for: no Converse reached the emulator.
    assert operations(bedrock_emulator) == [("CountTokens", PRIMARY)]
    error = caught.value
    assert isinstance(error, ContextOverflow)
    assert error.action is Action.REDUCE_CONTEXT
    assert (error.input_tokens, error.max_tokens, error.window) == (900, 256, WINDOW)
    message = str(error)
    assert "\n" not in message
    assert "shorten the history, lower max_tokens, or add a route with a larger window" in message
    [span] = make_gateway.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ContextWindowExceeded"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_an_unknown_window_is_sized_by_the_estimate_and_never_refused(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": "us.meta.llama3-3-70b-instruct-v1:0", "region": PRIMARY}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    response = gateway.converse(messages=words(3_000), max_tokens=256)
    assert operations(bedrock_emulator) == [("Converse", PRIMARY)]
    assert response.attempts[0].input_tokens_source == "estimate"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_chain_answers_from_a_larger_window_route(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    small = {"model": SONNET, "region": PRIMARY, "context_window": WINDOW}
    large = {"model": NOVA, "region": TERTIARY}  # 300K per the table
    gateway = make_gateway(config(bedrock_emulator, models=routes(small, large)))
    response = gateway.converse(messages=words(2_000), max_tokens=256)
    assert (response.region, response.model) == (TERTIARY, NOVA)
    assert operations(bedrock_emulator) == [("Converse", TERTIARY)]
    skipped, answered = response.attempts
    assert (skipped.outcome, skipped.error_code) == ("skipped", "ContextWindowExceeded")
    assert (answered.input_tokens, answered.input_tokens_source) == (2_000, "estimate")
    [span] = make_gateway.spans.get_finished_spans()
    fallbacks = [e for e in span.events if e.name == "agentkit.fallback"]
    assert fallbacks
    assert fallbacks[0].attributes is not None
    assert fallbacks[0].attributes["reason"] == "context_window"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_the_async_path_sizes_with_the_same_rule(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": SONNET, "region": PRIMARY, "context_window": WINDOW, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    response = aconverse(gateway, messages=words(100), max_tokens=256)
    assert response.attempts[0].input_tokens_source == "count_tokens"
    assert operations(bedrock_emulator) == [("CountTokens", PRIMARY), ("Converse", PRIMARY)]
    bedrock_emulator.clear_calls()
    over = make_gateway(config(bedrock_emulator, models=routes(route)))
    with pytest.raises(ContextWindowExceeded):
        aconverse(over, messages=words(900), max_tokens=256)
    assert operations(bedrock_emulator) == [("CountTokens", PRIMARY)]


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_stream_over_the_window_is_never_opened(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    route = {"model": SONNET, "region": PRIMARY, "context_window": WINDOW}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    with pytest.raises(ContextWindowExceeded):
        gateway.converse_stream(messages=words(900), max_tokens=256)
    assert bedrock_emulator.calls() == []
    stream = gateway.converse_stream(messages=words(10), max_tokens=256)
    assert "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in stream if "contentBlockDelta" in e
    )
    assert operations(bedrock_emulator) == [("ConverseStream", PRIMARY)]


# --- a count that fails: recorded, bounded by the call's deadline, not asked again -------------


def span_events(factory: GatewayFactory, name: str) -> list[dict[str, Any]]:
    return [
        dict(event.attributes or {})
        for span in factory.spans.get_finished_spans()
        for event in span.events
        if event.name == name
    ]


def count_faults(emu: Emulator, code: str, message: str | None = None) -> None:
    rule: dict[str, Any] = {"code": code, "operations": ["CountTokens"]}
    if message is not None:
        rule["message"] = message
    emu.set_faults({"regions": {PRIMARY: {"errors": [rule]}}})


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", None),
        # "The provided model doesn't support counting tokens." (agentkit.bedrock.counting)
        ("ValidationException", "The provided model doesn't support counting tokens."),
    ],
    ids=["access_denied", "unsupported"],
)
@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_refused_count_is_recorded_once_and_never_asked_again_on_that_route(
    bedrock_emulator: Emulator,
    make_gateway: GatewayFactory,
    code: str,
    message: str | None,
    use_async: bool,
) -> None:
    count_faults(bedrock_emulator, code, message)
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    send = aconverse if use_async else type(gateway).converse
    for _ in range(3):
        response = send(gateway, messages=words(10), max_tokens=256)
        assert response.attempts[-1].input_tokens_source == "estimate"
    assert operations(bedrock_emulator) == [
        ("CountTokens", PRIMARY),
        ("Converse", PRIMARY),
        ("Converse", PRIMARY),
        ("Converse", PRIMARY),
    ]
    [failed] = span_events(make_gateway, "agentkit.context.count_failed")
    assert (failed["agentkit.route"], failed["cloud.region"]) == (gateway.routes[0].name, PRIMARY)
    assert failed["error.type"] == code
    sized = span_events(make_gateway, "agentkit.context.sized")
    assert [s["agentkit.context.uncounted"] for s in sized] == [
        code,
        "CountRefused",
        "CountRefused",
    ]


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_transient_count_failure_is_recorded_and_asked_again_next_time(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    count_faults(bedrock_emulator, "ThrottlingException")
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    for _ in range(2):
        gateway.converse(messages=words(10), max_tokens=256)
    assert [op for op, _ in operations(bedrock_emulator)].count("CountTokens") == 2
    failed = span_events(make_gateway, "agentkit.context.count_failed")
    assert [f["error.type"] for f in failed] == ["ThrottlingException"] * 2


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_black_holed_count_ends_within_the_call_deadline_and_the_estimate_is_used(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory, use_async: bool
) -> None:
    # CountTokens never answers; Converse does. The read timeout (60 s) is far longer than the
    # call's deadline (4 s on the gateway's clock, which stands still): the count gets its share
    # of the deadline (2 s), not the read timeout.
    count_faults(bedrock_emulator, "hang")
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    cfg = config(
        bedrock_emulator,
        models=routes(route),
        resilience={"timeouts": {"connect_s": 1.0, "read_s": 60.0}},
        limits={"deadline_s": 4.0},
    )
    gateway = make_gateway(cfg)
    send = aconverse if use_async else type(gateway).converse
    response = send(gateway, messages=words(10), max_tokens=256)
    assert response.attempts[-1].outcome == "ok"
    assert response.attempts[-1].input_tokens_source == "estimate"
    [failed] = span_events(make_gateway, "agentkit.context.count_failed")
    assert failed["error.type"] == "DeadlineExceeded"
    # Both reached the emulator; on a loaded machine the abandoned count may arrive after the call.
    assert sorted(op for op, _ in operations(bedrock_emulator)) == ["Converse", "CountTokens"]


# The product's defaults (agentkit.config.Timeouts, limits.deadline_s), not the tests' short ones.
DEFAULTS = {"resilience": {"timeouts": {"connect_s": 1.0, "read_s": 30.0}}}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_with_default_settings_a_black_holed_count_costs_its_cap_once_then_cools_down(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory, use_async: bool
) -> None:
    # With deadline_s 120 half the deadline (60 s) is more than the read timeout (30 s): only
    # the cap (MAX_COUNT_S) bounds the count, and a timed-out route is not counted again until
    # its cool-down has passed on the gateway's clock.
    from agentkit.bedrock.counting import COOL_DOWN_S, COOLING

    count_faults(bedrock_emulator, "hang")
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route), **DEFAULTS))
    send = aconverse if use_async else type(gateway).converse
    for _ in range(2):
        response = send(gateway, messages=words(10), max_tokens=256)
        assert response.attempts[-1].input_tokens_source == "estimate"
    [failed] = span_events(make_gateway, "agentkit.context.count_failed")
    assert failed["error.type"] == "DeadlineExceeded"
    sized = span_events(make_gateway, "agentkit.context.sized")
    assert [s["agentkit.context.uncounted"] for s in sized] == ["DeadlineExceeded", COOLING]
    assert [op for op, _ in operations(bedrock_emulator)].count("CountTokens") == 1

    bedrock_emulator.set_faults({})
    make_gateway.clock.advance(COOL_DOWN_S)
    response = send(gateway, messages=words(10), max_tokens=256)
    assert response.attempts[-1].input_tokens_source == "count_tokens"


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_a_hung_count_neither_delays_close_nor_holds_the_process_open(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    import threading

    count_faults(bedrock_emulator, "hang")
    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route), **DEFAULTS))
    response = gateway.converse(messages=words(10), max_tokens=256)
    assert response.attempts[-1].input_tokens_source == "estimate"
    closing = threading.Thread(target=gateway.close, daemon=True)
    closing.start()
    closing.join(timeout=30)  # a generous bound; close() does not wait for the count at all
    assert not closing.is_alive()
    # The interpreter joins non-daemon threads at exit: no count thread may be one.
    counts = [t for t in threading.enumerate() if t.name.startswith("agentkit-count")]
    assert all(t.daemon for t in counts), counts


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_with_too_little_of_the_deadline_left_the_count_is_not_asked_for(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    from agentkit.bedrock.counting import COUNT_SHARE, MIN_COUNT_S

    route = {"model": SONNET, "region": PRIMARY, "count_tokens": True}
    deadline_s = MIN_COUNT_S / COUNT_SHARE / 2
    cfg = config(bedrock_emulator, models=routes(route), limits={"deadline_s": deadline_s})
    gateway = make_gateway(cfg)
    response = gateway.converse(messages=words(10), max_tokens=256)
    assert response.attempts[-1].input_tokens_source == "estimate"
    assert operations(bedrock_emulator) == [("Converse", PRIMARY)]
    [sized] = span_events(make_gateway, "agentkit.context.sized")
    assert sized["agentkit.context.uncounted"] == "NoTimeLeft"
    assert span_events(make_gateway, "agentkit.context.count_failed") == []


# --- an estimate needs its margin; the emulator refuses what does not fit ------------------------


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY, TERTIARY])
def test_an_estimate_that_fits_only_without_its_margin_is_not_sent(
    bedrock_emulator: Emulator, make_gateway: GatewayFactory
) -> None:
    # Nova Pro takes no CountTokens (the table): near the window only the estimate is known,
    # and it can be COUNT_MARGIN off, so 700 + 256 of a 1,000 window does not fit (700 x 1.2 does
    # not leave 256), though the bare figures would.
    route = {"model": NOVA, "region": PRIMARY, "context_window": WINDOW}
    gateway = make_gateway(config(bedrock_emulator, models=routes(route)))
    assert 700 + 256 <= WINDOW < 700 * (1 + COUNT_MARGIN) + 256
    with pytest.raises(ContextWindowExceeded) as caught:
        gateway.converse(messages=words(700), max_tokens=256)
    assert caught.value.input_tokens == 700
    assert operations(bedrock_emulator) == []  # nothing was sent
    fits = gateway.converse(messages=words(600), max_tokens=256)  # 720 + 256 <= 1,000
    assert fits.attempts[-1].outcome == "ok"


@pytest.mark.emulator(regions=[PRIMARY])
def test_the_emulator_refuses_a_request_over_the_models_window_as_bedrock_does(
    bedrock_emulator: Emulator,
) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        region_name=PRIMARY,
        endpoint_url=bedrock_emulator.endpoints[PRIMARY],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    window = route_window(Route(model=NOVA, region=PRIMARY))
    assert window is not None
    too_long = words(window)  # the window in input alone, before any output token
    with pytest.raises(client.exceptions.ValidationException, match="Input is too long"):
        client.converse(modelId=NOVA, messages=too_long, inferenceConfig={"maxTokens": 16})
    fits = client.converse(modelId=NOVA, messages=words(100), inferenceConfig={"maxTokens": 16})
    assert fits["stopReason"]
