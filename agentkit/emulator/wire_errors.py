"""Bedrock Runtime errors as the service sends them: code, HTTP status, default message."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WireError:
    code: str
    status: int
    message: str


_ERRORS = [
    WireError("ThrottlingException", 429, "Too many requests, please wait before trying again."),
    WireError("ModelNotReadyException", 429, "Model is not ready to serve inference requests."),
    WireError("ServiceUnavailableException", 503, "Service is temporarily unavailable."),
    WireError("InternalServerException", 500, "The server encountered an internal error."),
    WireError("ModelTimeoutException", 408, "Model has timed out in processing the request."),
    WireError("ModelErrorException", 424, "The model returned an error."),
    WireError("ModelStreamErrorException", 424, "The model stream returned an error."),
    WireError("ValidationException", 400, "The request is invalid."),
    WireError("ServiceQuotaExceededException", 400, "Your request exceeds the service quota."),
    WireError(
        "AccessDeniedException",
        403,
        "You don't have access to the model with the specified model ID.",
    ),
    WireError("ResourceNotFoundException", 404, "The specified resource was not found."),
]
ERRORS: dict[str, WireError] = {e.code: e for e in _ERRORS}
# Errors that only Agents for Amazon Bedrock Runtime (``Retrieve``) models: a fault plan may use
# them for that operation only.
AGENT_ERRORS: dict[str, WireError] = {
    e.code: e
    for e in (
        WireError(
            "DependencyFailedException",
            424,
            "The vector store of the knowledge base did not answer.",
        ),
        WireError("BadGatewayException", 502, "A dependency of the knowledge base failed."),
        WireError("ConflictException", 409, "The request conflicts with the resource's state."),
    )
}
AGENT_OPERATIONS = frozenset({"Retrieve"})
# The errors botocore's bedrock-agent-runtime model lists for Retrieve (tests/emulator pins it):
# the only codes a Knowledge Base fault may use (no ServiceUnavailableException, no Model*).
RETRIEVE_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "BadGatewayException",
        "ConflictException",
        "DependencyFailedException",
        "InternalServerException",
        "ResourceNotFoundException",
        "ServiceQuotaExceededException",
        "ThrottlingException",
        "ValidationException",
    }
)

# In-stream exceptions use lowerCamel event names (botocore's ConverseStreamOutput members).
STREAM_EXCEPTIONS = frozenset(
    {
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    }
)
DROP = "drop"  # not a Bedrock code: close the connection without answering

# Named faults for fault plans: the error cause a live account sees, with the message the
# service sends (as reported in public issue threads; see agentkit/bedrock/errors.py).
NAMED_FAULTS: dict[str, tuple[str, str]] = {
    "daily_quota": (
        "ThrottlingException",
        "Too many tokens per day, please wait before trying again.",
    ),
    "minute_quota": ("ThrottlingException", "Too many tokens, please wait before trying again."),
    "legacy_model": (
        "ResourceNotFoundException",
        "Access denied. This Model is marked by provider as Legacy and you have not been "
        "actively using the model in the last 30 days. Please upgrade to an active model on "
        "Amazon Bedrock",
    ),
    "end_of_life": (
        "ResourceNotFoundException",
        "This model version has reached the end of its life. Please refer to the AWS "
        "documentation for more details.",
    ),
    "policy_deny": (
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/agent/session is not authorized to "
        "perform: bedrock:InvokeModel on resource: arn:aws:bedrock:*::foundation-model/* with "
        "an explicit deny in a service control policy",
    ),
    "needs_inference_profile": (
        "ValidationException",
        "Invocation of model ID with on-demand throughput isn't supported. Retry your request "
        "with the ID or ARN of an inference profile that contains this model.",
    ),
    "model_not_in_region": ("ValidationException", "The provided model identifier is invalid."),
    "tier_not_offered": (
        "ValidationException",
        "The requested service tier is not supported for this model.",
    ),
}


class BedrockError(Exception):
    """An error answer of the emulator: becomes a Bedrock-framed error response."""

    def __init__(self, code: str, message: str | None = None, **headers: str) -> None:
        super().__init__(message or (ERRORS.get(code) or AGENT_ERRORS[code]).message)
        self.code = code
        self.message = message
        self.headers = headers


def lower_camel(code: str) -> str:
    return code[:1].lower() + code[1:]


def error_body(
    code: str, message: str | None = None, **fields: Any
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error response, exactly as Bedrock frames it."""
    wire = ERRORS.get(code) or AGENT_ERRORS[code]
    body: dict[str, Any] = {"message": message or wire.message}
    if code in ("ModelErrorException", "ModelStreamErrorException"):
        body.setdefault("originalStatusCode", 500)
    body.update(fields)
    headers = {"x-amzn-errortype": code, "content-type": "application/json"}
    return wire.status, headers, json.dumps(body).encode()
