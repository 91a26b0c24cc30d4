"""Error translation: the one table from Bedrock codes and transport failures to actions."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ReadTimeoutError,
)

from agentkit import errors as ak
from agentkit.bedrock.errors import translate
from agentkit.errors import Action


def client_error(
    code: str, message: str = "m", cls: type[ClientError] = ClientError
) -> ClientError:
    return cls(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "Converse",
    )


@pytest.mark.parametrize(
    ("code", "expected", "action", "trips"),
    [
        ("ThrottlingException", ak.Throttled, Action.RETRY, True),
        ("ModelNotReadyException", ak.ModelNotReady, Action.RETRY, True),
        ("ServiceUnavailableException", ak.Unavailable, Action.RETRY, True),
        ("InternalServerException", ak.Unavailable, Action.RETRY, True),
        ("ModelTimeoutException", ak.ModelTimeout, Action.RETRY, True),
        ("ModelErrorException", ak.Unavailable, Action.RETRY, True),
        ("ServiceQuotaExceededException", ak.QuotaExhausted, Action.NEXT_REGION, True),
        ("AccessDeniedException", ak.AccessDenied, Action.NEXT_REGION, False),
        ("ResourceNotFoundException", ak.ResourceNotFound, Action.NEXT_REGION, False),
        ("ValidationException", ak.ModelRejected, Action.STOP, False),
    ],
)
def test_client_error_codes(code: str, expected: type, action: Action, trips: bool) -> None:
    error = translate(client_error(code), model="m", region="us-east-1")
    assert type(error) is expected
    assert error.action is action
    assert isinstance(error, ak.ModelError)
    assert error.trips_breaker is trips
    assert error.region == "us-east-1"
    assert error.code == code


def test_in_stream_lower_camel_codes_are_the_same_errors() -> None:
    error = translate(
        client_error("throttlingException", cls=EventStreamError), model="m", region="r"
    )
    assert type(error) is ak.Throttled
    assert error.code == "ThrottlingException"


@pytest.mark.parametrize(
    ("message", "expected", "action"),
    [
        ("Input is too long for requested model.", ak.ContextOverflow, Action.REDUCE_CONTEXT),
        (
            "Invocation of model ID x with on-demand throughput isn't supported.",
            ak.ProfileRequired,
            Action.NEXT_MODEL,
        ),
        ("messages: field required", ak.ModelRejected, Action.STOP),
        ("The provided model identifier is invalid.", ak.ModelNotInRegion, Action.NEXT_REGION),
        ("The requested service tier is not supported.", ak.TierNotOffered, Action.NEXT_REGION),
    ],
)
def test_validation_messages_that_mean_something_else(
    message: str, expected: type, action: Action
) -> None:
    error = translate(client_error("ValidationException", message), model="m", region="r")
    assert type(error) is expected
    assert error.action is action


def test_transport_errors() -> None:
    refused = translate(EndpointConnectionError(endpoint_url="http://x"), model="m", region="r")
    assert type(refused) is ak.RegionUnreachable
    assert refused.action is Action.NEXT_REGION
    timeout = translate(ReadTimeoutError(endpoint_url="http://x"), model="m", region="r")
    assert type(timeout) is ak.AttemptTimedOut
    assert timeout.action is Action.NEXT_REGION
    dropped = translate(ConnectionClosedError(endpoint_url="http://x"), model="m", region="r")
    assert type(dropped) is ak.Unavailable
    assert dropped.action is Action.RETRY
    creds = translate(NoCredentialsError(), model="m", region="r")
    assert type(creds) is ak.CredentialsMissing
    assert "AWS_PROFILE" in str(creds)


@pytest.mark.parametrize(
    ("code", "message", "expected", "action", "fix"),
    [
        (
            "ThrottlingException",
            "Too many tokens per day, please wait before trying again.",
            ak.DailyQuotaExhausted,
            Action.NEXT_REGION,
            "daily token quota",
        ),
        (
            "ThrottlingException",
            "Too many tokens, please wait before trying again.",
            ak.Throttled,
            Action.RETRY,
            None,
        ),
        (
            "ResourceNotFoundException",
            "Access denied. This Model is marked by provider as Legacy and you have not been "
            "actively using the model in the last 30 days.",
            ak.ModelLifecycleLocked,
            Action.NEXT_MODEL,
            "successor",
        ),
        (
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/a/b is not authorized to perform: "
            "bedrock:InvokeModel on resource: x with an explicit deny in a service control policy",
            ak.PolicyDenied,
            Action.NEXT_REGION,
            "explicit deny",
        ),
        (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
            ak.AccessDenied,
            Action.NEXT_REGION,
            None,
        ),
    ],
)
def test_error_causes_by_message(
    code: str, message: str, expected: type, action: Action, fix: str | None
) -> None:
    error = translate(client_error(code, message.upper()), model="m", region="r")
    assert type(error) is expected  # matched case-insensitively
    assert error.action is action
    assert ("(fix: " in str(error)) is (fix is not None)
    if fix:
        assert fix in str(error)
