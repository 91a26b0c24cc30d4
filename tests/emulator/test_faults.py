"""Each fault kind reaches boto3 as the exception a real Bedrock outage would raise."""

from __future__ import annotations

from contextlib import closing

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    EventStreamError,
    ReadTimeoutError,
)

from agentkit.emulator import Emulator
from agentkit.emulator.faults import FaultPlan
from agentkit.emulator.wire_errors import ERRORS
from agentkit.resilience.clock import FakeClock

from .conftest import MODEL, USER


def converse(emu: Emulator, region: str, model: str = MODEL, **config: object) -> dict[str, object]:
    return emu.client(region, **config).converse(modelId=model, messages=USER)  # type: ignore[no-any-return]


def outcomes(emu: Emulator, region: str, n: int) -> list[str]:
    client = emu.client(region)
    out = []
    for _ in range(n):
        try:
            client.converse(modelId=MODEL, messages=USER)
            out.append("ok")
        except ClientError as exc:
            out.append(exc.response["Error"]["Code"])
    return out


def test_region_down_is_connection_refused_and_comes_back_with_a_new_plan(emu: Emulator) -> None:
    client = emu.client("us-east-1")
    client.converse(modelId=MODEL, messages=USER)  # a pooled keep-alive connection exists now
    emu.set_faults({"regions": {"us-east-1": {"down": True}}})
    with pytest.raises(EndpointConnectionError):
        client.converse(modelId=MODEL, messages=USER)
    converse(emu, "us-west-2")  # other Regions unaffected
    emu.set_faults({})  # a new plan replaces the old one completely
    client.converse(modelId=MODEL, messages=USER)
    assert [c.region for c in emu.calls()] == ["us-east-1", "us-west-2", "us-east-1"]


def test_black_hole_is_a_read_timeout(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-west-2": {"blackhole": True}}})
    with pytest.raises(ReadTimeoutError):
        converse(emu, "us-west-2", read_timeout=0.2)
    assert emu.calls()[-1].error_code == "blackhole"


def test_dropped_connection_is_connection_closed(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-east-1": {"errors": [{"code": "drop"}]}}})
    with pytest.raises(ConnectionClosedError):
        converse(emu, "us-east-1")


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_bedrock_error_code_arrives_as_its_modelled_exception(
    emu: Emulator, code: str
) -> None:
    emu.set_faults({"regions": {"us-east-1": {"errors": [{"code": code}]}}})
    client = emu.client("us-east-1")
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, messages=USER)
    error = caught.value
    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == ERRORS[code].status
    modelled = getattr(client.exceptions, code, None)
    if modelled is not None:  # ModelStreamErrorException is modelled only inside streams
        assert isinstance(error, modelled)


def test_retry_after_header_is_sent_when_planned(emu: Emulator) -> None:
    emu.set_faults(
        {
            "regions": {
                "us-east-1": {"errors": [{"code": "ThrottlingException", "retry_after_ms": 1500}]}
            }
        }
    )
    with pytest.raises(ClientError) as caught:
        converse(emu, "us-east-1")
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-retry-after"] == "1500"


def test_every_first_and_calls_triggers(emu: Emulator) -> None:
    emu.set_faults(
        {
            "regions": {
                "us-east-1": {"errors": [{"code": "ThrottlingException", "every": 2}]},
                "us-west-2": {
                    "errors": [
                        {"code": "ServiceUnavailableException", "first": 2},
                        {"code": "InternalServerException", "calls": [4]},
                    ]
                },
            }
        }
    )
    assert outcomes(emu, "us-east-1", 5) == [
        "ok",
        "ThrottlingException",
        "ok",
        "ThrottlingException",
        "ok",
    ]
    assert outcomes(emu, "us-west-2", 5) == [
        "ServiceUnavailableException",
        "ServiceUnavailableException",
        "ok",
        "InternalServerException",
        "ok",
    ]


def test_seeded_rates_replay_identically_and_differ_by_seed(emu: Emulator) -> None:
    def run(seed: int) -> list[str]:
        emu.set_faults(
            {
                "seed": seed,
                "regions": {
                    "us-east-1": {"errors": [{"code": "ThrottlingException", "rate": 0.5}]}
                },
            }
        )
        return outcomes(emu, "us-east-1", 24)

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert 4 <= first.count("ThrottlingException") <= 20


def test_operation_filter_and_per_model_faults(emu: Emulator) -> None:
    emu.set_faults(
        {
            "regions": {
                "us-east-1": {
                    "errors": [{"code": "InternalServerException", "operations": ["CountTokens"]}],
                    "models": {"amazon.nova-*": {"errors": [{"code": "ModelNotReadyException"}]}},
                }
            }
        }
    )
    converse(emu, "us-east-1")  # Converse is not filtered in, and the model is not nova
    with pytest.raises(ClientError, match="ModelNotReadyException"):
        converse(emu, "us-east-1", model="amazon.nova-pro-v1:0")
    with pytest.raises(ClientError, match="InternalServerException"):
        emu.client("us-east-1").count_tokens(modelId=MODEL, input={"converse": {"messages": USER}})


def test_mid_stream_exception_frame_is_an_event_stream_error(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-east-1": {"stream": {"error_after_events": 2}}}})
    stream = emu.client("us-east-1").converse_stream(modelId=MODEL, messages=USER)["stream"]
    received: list[str] = []
    with closing(stream), pytest.raises(EventStreamError) as caught:
        received.extend(next(iter(event)) for event in stream)
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert received == ["messageStart", "contentBlockDelta"]
    assert emu.calls()[-1].error_code == "throttlingException"


def test_mid_stream_error_frame_kind(emu: Emulator) -> None:
    plan = {"error_after_events": 1, "error_code": "ModelStreamErrorException"}
    plan["error_kind"] = "error"
    emu.set_faults({"regions": {"us-east-1": {"stream": plan}}})
    stream = emu.client("us-east-1").converse_stream(modelId=MODEL, messages=USER)["stream"]
    with closing(stream), pytest.raises(EventStreamError) as caught:
        list(stream)
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"


CLOCK = FakeClock()


@pytest.mark.emulator(regions=["us-east-1"], clock=CLOCK)
def test_quota_reserves_max_tokens_and_refills_with_time(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-east-1": {"quota": {"tpm": 300}}}})
    client = emu.client("us-east-1")
    kwargs = {"modelId": MODEL, "messages": USER, "inferenceConfig": {"maxTokens": 250}}
    # Each call reserves 10 input + 250 max tokens = 260, then settles on 10 + 17 used = 27.
    client.converse(**kwargs)  # 300 -> 273 after settling
    client.converse(**kwargs)  # 273 -> 246
    with pytest.raises(client.exceptions.ThrottlingException, match="Too many tokens"):
        client.converse(**kwargs)  # 246 < 260: refused before the model runs
    CLOCK.advance(3.0)  # refills 300/60 = 5 tokens a second: 246 + 15 = 261
    client.converse(**kwargs)
    assert [c.status for c in emu.calls()] == [200, 200, 429, 200]


@pytest.mark.emulator(regions=["us-east-1"], clock=CLOCK)
def test_quota_burndown_multiplies_output_in_the_reservation(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-east-1": {"quota": {"tpm": 1000, "burndown": 5}}}})
    client = emu.client("us-east-1")
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(
            modelId=MODEL, messages=USER, inferenceConfig={"maxTokens": 200}
        )  # 10 + 1000 > 1000
    client.converse(modelId=MODEL, messages=USER, inferenceConfig={"maxTokens": 190})


def test_latency_is_added_before_answering(emu: Emulator) -> None:
    emu.set_faults({"regions": {"us-east-1": {"latency_ms": 150}}})
    with pytest.raises(ReadTimeoutError):
        converse(emu, "us-east-1", read_timeout=0.05)


@pytest.mark.emulator(regions=["us-east-1", "us-east-2", "us-west-2", "eu-west-1"])
def test_cross_region_profiles_are_served_within_their_geography(emu: Emulator) -> None:
    emu.set_faults(
        {
            "cris_routing": "spread",
            "regions": {
                "us-east-2": {"down": True},
                "us-west-2": {"errors": [{"code": "ThrottlingException"}]},
            },
        }
    )
    results = outcomes(emu, "us-east-1", 4)
    served = [c.served_region for c in emu.calls()]
    assert served == [
        "us-east-1",
        "us-west-2",
        "us-east-1",
        "us-west-2",
    ]  # us-east-2 is down: skipped
    assert results == [
        "ok",
        "ThrottlingException",
        "ok",
        "ThrottlingException",
    ]  # the server's faults
    emu.clear_calls()
    converse(emu, "us-east-1", model="anthropic.claude-3-haiku-20240307-v1:0")  # not a profile
    converse(emu, "eu-west-1", model="eu.amazon.nova-pro-v1:0")
    assert [c.served_region for c in emu.calls()] == ["us-east-1", "eu-west-1"]


@pytest.mark.emulator(regions=["us-east-1", "us-west-2"])
def test_cris_destination_pins_the_serving_region(emu: Emulator) -> None:
    emu.set_faults(
        {
            "regions": {
                "us-east-1": {"cris_destination": "us-west-2"},
                "us-west-2": {"latency_ms": 0},
            }
        }
    )
    converse(emu, "us-east-1")
    assert emu.calls()[-1].served_region == "us-west-2"


def test_bad_plans_name_the_field() -> None:
    from pydantic import ValidationError

    from agentkit.emulator.faults import describe_plan_error

    for plan, field in [
        (
            {"regions": {"us-east-1": {"errors": [{"code": "Nope"}]}}},
            "regions.us-east-1.errors.0.code",
        ),
        ({"regions": {"us-east-1": {"latency_ms": -1}}}, "regions.us-east-1.latency_ms"),
        ({"regions": {"us-east-1": {"dwon": True}}}, "regions.us-east-1.dwon"),
        ({"seed": "x"}, "seed"),
    ]:
        with pytest.raises(ValidationError) as caught:
            FaultPlan.model_validate(plan)
        assert describe_plan_error(caught.value).startswith(field + ":")


def test_plan_for_a_region_not_served_is_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="ap-south-1"):
        emu.set_faults({"regions": {"ap-south-1": {"down": True}}})
