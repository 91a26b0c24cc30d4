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
# ValidationException messages that call for something other than giving up.
_CONTEXT_HINTS = ("too long", "too many tokens", "context window", "context length", "input is too")
_MODEL_HINTS = ("on-demand throughput", "isn't supported", "is not supported", "inference profile")


def normalise_code(code: str) -> str:
    """``throttlingException`` (in-stream) and ``ThrottlingException`` are the same error."""
    return code[:1].upper() + code[1:]


def _classify_validation(message: str) -> type[ak.ModelError]:
    lowered = message.lower()
    if any(hint in lowered for hint in _CONTEXT_HINTS):
        return ak.ContextOverflow
    if any(hint in lowered for hint in _MODEL_HINTS):
        return ak.ModelUnsupported
    return ak.ModelRejected


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
    text = f"{code} from {model} in {region}: {message}"
    cls = _BY_CODE.get(code, ak.Unavailable)
    if cls is ak.Throttled:
        return ak.Throttled(
            text,
            retry_after_s=_retry_after(exc),
            code=code,
            status=status,
            model_id=model,
            region=region,
        )
    if cls is ak.ModelRejected:
        cls = _classify_validation(message)
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
