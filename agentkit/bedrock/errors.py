"""The one place where botocore and transport errors become the agentkit error tree."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError

from agentkit import errors as ak
from agentkit.errors import CREDENTIALS_HINT

_BY_CODE: dict[str, type[ak.ModelError]] = {
    "ThrottlingException": ak.Throttled,
    "ModelNotReadyException": ak.ModelNotReady,
    "ServiceUnavailableException": ak.Unavailable,
    "InternalServerException": ak.Unavailable,
    "ModelErrorException": ak.Unavailable,
    "ModelStreamErrorException": ak.Unavailable,
    "ModelTimeoutException": ak.ModelTimeout,
    "ServiceQuotaExceededException": ak.QuotaExhausted,
    "AccessDeniedException": ak.AccessDenied,
    "ResourceNotFoundException": ak.ResourceNotFound,
    "ValidationException": ak.ModelRejected,
}
# What a message says beyond its code, checked in order (case-insensitive substrings). Messages
# come from public reports of the live service; a message not listed keeps its code's class.
_BY_MESSAGE: tuple[tuple[frozenset[str], tuple[str, ...], type[ak.ModelError]], ...] = (
    # "Too many tokens per day, please wait before trying again." (tokens-per-day quota; the
    # per-minute one says "Too many tokens, please wait before trying again.")
    (frozenset({"ThrottlingException"}), ("per day",), ak.DailyQuotaExhausted),
    # "Access denied. This Model is marked by provider as Legacy and you have not been actively
    # using the model in the last 30 days." (a 404) and "This model version has reached the end
    # of its life." (public issue threads of agent frameworks, 2026)
    (
        frozenset({"AccessDeniedException", "ResourceNotFoundException", "ValidationException"}),
        ("marked by provider as legacy", "end of its life", "end-of-life"),
        ak.ModelLifecycleLocked,
    ),
    # IAM's wording: "... is not authorized to perform: bedrock:InvokeModel on resource: ...
    # with an explicit deny in a service control policy" (or a permissions boundary, or a
    # resource-based policy)
    (frozenset({"AccessDeniedException"}), ("explicit deny",), ak.PolicyDenied),
    # The exact wording for an unoffered tier was not found in public sources: any validation
    # message about the service tier is taken as this.
    (frozenset({"ValidationException"}), ("service tier", "servicetier"), ak.TierNotOffered),
    # "Invocation of model ID ... with on-demand throughput isn't supported. Retry your request
    # with the ID or ARN of an inference profile that contains this model."
    (
        frozenset({"ValidationException"}),
        ("on-demand throughput", "inference profile that contains"),
        ak.ProfileRequired,
    ),
    # "The provided model identifier is invalid." / "Could not resolve the foundation model from
    # the provided model identifier." for a model not offered in the Region
    (
        frozenset({"ValidationException", "ResourceNotFoundException"}),
        ("model identifier is invalid", "could not resolve the foundation model"),
        ak.ModelNotInRegion,
    ),
    (
        frozenset({"ValidationException"}),
        ("too long", "too many tokens", "context window", "context length", "input is too"),
        ak.ContextOverflow,
    ),
    (
        frozenset({"ValidationException"}),
        ("isn't supported", "is not supported"),
        ak.ModelUnsupported,
    ),
)
# What to do about each configuration defect, said in the error.
_FIXES: dict[type[ak.ModelError], str] = {
    ak.DailyQuotaExhausted: "the daily token quota is spent; the route cools down and the next "
    "route serves (raise the tokens-per-day quota in Service Quotas)",
    ak.ModelLifecycleLocked: "the model is LEGACY or end-of-life for this account; route to its "
    "successor (agentkit routes check lists each route's lifecycle)",
    ak.PolicyDenied: "an explicit deny blocks this route; allow bedrock:InvokeModel for the "
    "route's Region and every destination Region of its profile, or remove the route",
    ak.TierNotOffered: "this model does not offer the route's service_tier; choose a tier it "
    "offers or another model",
    ak.ProfileRequired: "this model is served through an inference profile only; use its "
    "profile ID (us., eu., ...) in the route",
    ak.ModelNotInRegion: "the model is not offered in this Region; choose a Region that offers "
    "it or a profile whose destinations do",
}


def normalise_code(code: str) -> str:
    """``throttlingException`` (in-stream) and ``ThrottlingException`` are the same error."""
    return code[:1].upper() + code[1:]


def _classify(code: str, message: str) -> type[ak.ModelError]:
    lowered = message.lower()
    for codes, fragments, cls in _BY_MESSAGE:
        if code in codes and any(fragment in lowered for fragment in fragments):
            return cls
    return _BY_CODE.get(code, ak.Unavailable)


def _retry_after(error: ClientError) -> float | None:
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    raw = headers.get("x-amz-retry-after")
    try:
        return float(raw) / 1000 if raw is not None else None
    except ValueError:
        return None


def translate(exc: BaseException, *, model: str, region: str) -> ak.AgentkitError | None:
    """The agentkit error for ``exc``, or None when ``exc`` is not a Bedrock or transport failure
    (a ``KeyError`` in a hook, a bug in a transform): that must reach the caller unchanged, not
    be retried as an outage or trip a breaker."""
    if isinstance(exc, ak.AgentkitError):
        return exc
    if isinstance(exc, ClientError):
        return _from_client_error(exc, model, region)
    found = _transport(exc, model, region)
    if found is None:
        return None
    cls, code, text = found
    return cls(text, code=code, model_id=model, region=region)


def _from_client_error(exc: ClientError, model: str, region: str) -> ak.ModelError:
    error = exc.response.get("Error", {})
    code = normalise_code(str(error.get("Code", "")))
    message = str(error.get("Message", "")) or code
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    cls = _classify(code, message)
    fix = _FIXES.get(cls)
    text = f"{code} from {model} in {region}: {message}" + (f" (fix: {fix})" if fix else "")
    if cls is ak.Throttled:
        return ak.Throttled(
            text,
            retry_after_s=_retry_after(exc),
            code=code,
            status=status,
            model_id=model,
            region=region,
        )
    return cls(text, code=code, status=status, model_id=model, region=region)


# Transport failures, most specific first: (botocore class, agentkit class, code, message).
_TRANSPORT: tuple[tuple[type[Exception], type[ak.ModelError], str, str], ...] = (
    (NoCredentialsError, ak.CredentialsMissing, "NoCredentials", CREDENTIALS_HINT),
    (ConnectTimeoutError, ak.RegionUnreachable, "ConnectTimeout", "cannot reach {region}"),
    (EndpointConnectionError, ak.RegionUnreachable, "ConnectionRefused", "cannot reach {region}"),
    (ReadTimeoutError, ak.AttemptTimedOut, "ReadTimeout", "no answer from {region}"),
    (ConnectionClosedError, ak.Unavailable, "ConnectionClosed", "{region} dropped the connection"),
)


def _transport(
    exc: BaseException, model: str, region: str
) -> tuple[type[ak.ModelError], str, str] | None:
    for botocore_class, cls, code, message in _TRANSPORT:
        if isinstance(exc, botocore_class):
            text = message if cls is ak.CredentialsMissing else f"{code}: {message}"
            return cls, code, text.format(region=region)
    if isinstance(exc, ParamValidationError):
        return ak.ModelRejected, "ParamValidation", f"invalid request for {model}: {exc}"
    if isinstance(exc, HTTPClientError | BotoCoreError | HTTPError | OSError):
        name = type(exc).__name__
        return ak.Unavailable, name, f"{name} calling {model} in {region}: {exc}"
    return None


@contextlib.contextmanager
def bedrock_errors(model: str, region: str) -> Iterator[None]:
    """Translate what the block raises from boto3, botocore, urllib3 or the socket layer into
    the error tree; anything else propagates unchanged."""
    try:
        yield
    except ak.AgentkitError:
        raise
    except Exception as exc:
        error = translate(exc, model=model, region=region)
        if error is None:
            raise
        raise error from exc
