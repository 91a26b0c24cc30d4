"""The agentkit error tree: one root, and each class says what the caller should do next.

Every failure that crosses a module boundary is one of these. Translation from botocore and
transport errors happens in one place (``agentkit.bedrock.errors``); the CLI maps the tree to
exit codes and one-line messages in one place (``agentkit.cli.app``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any


class Action(enum.Enum):
    """What the resilience layer does after an error."""

    RETRY = "retry"  # retry the same route after backoff
    NEXT_REGION = "next_region"  # move on to the next route without retrying this one
    NEXT_MODEL = "next_model"  # this model cannot serve the request; try a route with another model
    REDUCE_CONTEXT = "reduce_context"  # the request is too large; shrink it before trying again
    STOP = "stop"  # nothing will help; surface the error


CREDENTIALS_HINT = (
    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or point models.endpoints at a local emulator (agentkit emulate)"
)


class AgentkitError(Exception):
    """Root of every error agentkit raises on purpose."""

    action: Action = Action.STOP
    exit_code: int = 1  # what the CLI exits with when this error ends a command

    @property
    def retryable(self) -> bool:
        return self.action is Action.RETRY


class UserError(AgentkitError):
    """The user gave us something we cannot use: fix the input and run again."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration file or value is invalid. Never retried, never trips a breaker."""


class InputError(UserError):
    """A command-line argument or input file is invalid."""


class OperatorStop(AgentkitError):
    """An operator stopped the work on purpose (the kill switch): not a failure of the service,
    so it spends no error budget (``agentkit.outcome`` ``refused``)."""


class GateFailed(AgentkitError):
    """A quality gate (FMEA, evaluation) found items at or above its threshold."""

    exit_code = 3


# --- model calls -------------------------------------------------------------------------------


class ModelError(AgentkitError):
    """A Bedrock call failed. Carries the model, Region and Bedrock error code."""

    trips_breaker: bool = True
    # A configuration defect of the route (a policy deny, a model it cannot serve): retrying it
    # will not help for the life of the process, so the gateway takes the route out.
    disables_route: bool = False

    def __init__(
        self,
        message: str,
        *,
        model_id: str = "",
        region: str = "",
        code: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.model_id = model_id
        self.region = region
        self.code = code
        self.status = status


class TransientModelError(ModelError):
    """Worth retrying on the same route after a backoff."""

    action = Action.RETRY


class Throttled(TransientModelError):
    """429 ThrottlingException or a quota refusal."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class ModelNotReady(TransientModelError):
    """429 ModelNotReadyException: the model is warming up."""


class ModelTimeout(TransientModelError):
    """408 ModelTimeoutException, or a read timeout on our side."""


class Unavailable(TransientModelError):
    """5xx, refused or dropped connection: the route is unhealthy right now."""


class RegionUnreachable(Unavailable):
    """The Region's endpoint refused the connection or timed out connecting: move on."""

    action = Action.NEXT_REGION


class AttemptTimedOut(ModelTimeout):
    """No answer within the read timeout (a black hole, or a stuck model): move on rather than
    spend another full timeout on the same route."""

    action = Action.NEXT_REGION


class QuotaExhausted(ModelError):
    """ServiceQuotaExceededException: this route's quota is used up; another Region has its own."""

    action = Action.NEXT_REGION


class DailyQuotaExhausted(ModelError):
    """ThrottlingException "Too many tokens per day": the route's daily token quota is spent.
    Retrying with jitter only burns the retry budget until the day resets: move on at once and
    cool the route down for ``breaker.daily_quota_cooldown_s``."""

    action = Action.NEXT_REGION
    trips_breaker = False  # the cool-down, not the failure count, takes the route out


class ModelLifecycleLocked(ModelError):
    """The model is LEGACY (and this account has not used it for 30 days) or past its end of
    life: the same model fails in every Region, so the next route with another model serves."""

    action = Action.NEXT_MODEL
    trips_breaker = False
    disables_route = True


class CredentialsMissing(ModelError):
    """No AWS credentials could be found: nothing will succeed until the user provides some."""

    trips_breaker = False


class ModelRejected(ModelError):
    """The request itself is invalid (ValidationException): never retried, never trips a breaker."""

    trips_breaker = False


class ModelUnsupported(ModelRejected):
    """This model or profile cannot serve the request here (e.g. on-demand throughput not
    supported): a route with another model may."""

    action = Action.NEXT_MODEL


class ProfileRequired(ModelUnsupported):
    """ValidationException "on-demand throughput isn't supported": the model is invoked through
    an inference profile only. Fix: route to the profile ID (``us.``, ``eu.`` ...)."""

    disables_route = True


class ModelNotInRegion(ModelRejected):
    """The model is not offered in this Region (an invalid identifier there)."""

    action = Action.NEXT_REGION
    disables_route = True


class TierNotOffered(ModelRejected):
    """The route asks for a service tier the model does not offer."""

    action = Action.NEXT_REGION
    disables_route = True


class ContextOverflow(ModelRejected):
    """The prompt does not fit the model's context window."""

    action = Action.REDUCE_CONTEXT


class ContextWindowExceeded(ContextOverflow):
    """Found before sending: the request's input tokens plus its ``max_tokens`` exceed the
    window of every route that could take it, so nothing was sent (``agentkit.bedrock.sizing``).
    A user's fix, not a failure of the route: exits like a user mistake."""

    exit_code = 2

    def __init__(
        self, *, input_tokens: int, max_tokens: int, window: int, source: str, **kw: Any
    ) -> None:
        super().__init__(
            f"request too large for the context window: {input_tokens} input tokens "
            f"({source}) + max_tokens {max_tokens} > {window} on {kw.get('model_id', '?')}; "
            "shorten the history, lower max_tokens, or add a route with a larger window",
            code="ContextWindowExceeded",
            **kw,
        )
        self.input_tokens = input_tokens
        self.max_tokens = max_tokens
        self.window = window
        self.source = source


class AccessDenied(ModelError):
    """403: model access is usually Region-specific, so move to the next route at once."""

    action = Action.NEXT_REGION
    trips_breaker = False


class PolicyDenied(AccessDenied):
    """An explicit deny (SCP, permissions boundary, resource policy) on the route or one of its
    profile's destination Regions: every request through it fails until the policy changes."""

    disables_route = True


class ResourceNotFound(ModelError):
    """404: unknown model, profile or guardrail in this Region."""

    action = Action.NEXT_REGION
    trips_breaker = False


class ContentFiltered(ModelError):
    """The answer was blocked by a content filter or guardrail."""

    trips_breaker = False


class StreamInterrupted(ModelError):
    """A stream failed after content reached the caller: it cannot be retried transparently."""

    def __init__(self, message: str, *, delivered_events: int, delivered_chars: int, **kw: Any):
        super().__init__(message, **kw)
        self.delivered_events = delivered_events
        self.delivered_chars = delivered_chars


class CircuitOpen(AgentkitError):
    """The route's circuit breaker is open; it will be probed again after ``until``."""

    action = Action.NEXT_REGION

    def __init__(self, route: str, until: float | None = None) -> None:
        super().__init__(f"circuit open for route {route}")
        self.route = route
        self.until = until


class AllRoutesFailed(AgentkitError):
    """Every route in the fallback chain failed. ``attempts`` lists every attempt made."""

    def __init__(self, attempts: Sequence[Any], message: str | None = None) -> None:
        self.attempts = list(attempts)
        tried = [a for a in self.attempts if getattr(a, "outcome", "") != "skipped"]
        listed = "; ".join(_describe_attempt(a) for a in self.attempts)
        super().__init__(
            message
            or f"all routes failed after {len(tried)} attempt(s)"
            + (f": {listed}" if listed else "")
        )


def _describe_attempt(attempt: Any) -> str:
    """``us-east-1 m: ThrottlingException after 0.21 s``, or ``... skipped (CircuitOpen)``."""
    where = f"{getattr(attempt, 'region', '?')} {getattr(attempt, 'model', '?')}"
    code = getattr(attempt, "error_code", None) or getattr(attempt, "outcome", "?")
    if getattr(attempt, "outcome", "") in ("skipped", "abandoned"):
        return f"{where}: {attempt.outcome} ({code})"
    return f"{where}: {code} after {getattr(attempt, 'latency_s', 0.0):.2f} s"


class BudgetExceeded(AgentkitError):
    """A run budget (tokens, model calls, retries, recursion, deadline) is used up."""

    def __init__(self, kind: str, limit: float, used: float) -> None:
        super().__init__(f"{kind} budget exceeded: used {used:g} of {limit:g}")
        self.kind = kind
        self.limit = limit
        self.used = used


class GuardrailBlocked(AgentkitError):
    """An input or output guardrail blocked the content."""


# --- tools -------------------------------------------------------------------------------------


class ToolError(AgentkitError):
    """Base for tool contract and execution failures."""


class ToolNotFound(ToolError, UserError):
    pass


class ToolVersionMismatch(ToolError, ConfigError):
    pass


class ToolNotConfigured(ToolError, ConfigError):
    """The tool needs a setting that is missing (``knowledge_search`` without
    ``knowledge_bases``): never retried, and never sent to a fallback tool, which would hide it."""


class ToolInputInvalid(ToolError, UserError):
    def __init__(self, message: str, *, schema_path: str = "") -> None:
        super().__init__(message)
        self.schema_path = schema_path


class ToolOutputInvalid(ToolError):
    pass


class ToolFailed(ToolError):
    pass


class ToolBusy(ToolFailed):
    """The tool's bulkhead is full: the call was refused before it ran (never retried here)."""


class ToolLoop(AgentkitError):
    """A run called the same tool with the same arguments too often: it stops (not a ToolError,
    so a node that handles tool failures cannot swallow it)."""

    def __init__(self, tool: str, limit: int) -> None:
        super().__init__(
            f"stopped: {tool} was called with the same arguments more than {limit} times in "
            "this run (a tool loop); raise limits.tool_repeat_limit only if the repeats are meant"
        )
        self.tool = tool
        self.limit = limit
