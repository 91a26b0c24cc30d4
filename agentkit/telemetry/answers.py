"""Answer metrics: did a capability answer, and how long did it take? One record per agent run.

A capability is an agent (``gen_ai.agent.name``, e.g. ``dr-advisor``). Each run adds one to
``agentkit.answers`` and records its seconds in ``agentkit.answer.duration``, both with
``agentkit.outcome``:

- ``ok``: the run completed with an answer that is not degraded;
- ``degraded``: it completed, but on a fallback path (a template answer, a missing tool);
- ``paused``: it stopped for a person's approval (neither a success nor a failure);
- ``refused``: the operator's kill switch refused or stopped it (on purpose: no error budget
  spent, so an SLO burn alarm never evacuates a Region because an operator stopped the agent);
- ``rejected``: the input was a user's mistake (``error.type``: an ``InputError`` or an invalid
  tool input; exit 2 on the CLI), not a configuration mistake (that is an ``error``);
- ``error``: it stopped without an answer (``agentkit.stop_reason``: a budget, the recursion
  limit, a tool loop) or raised anything else (``error.type``: the exception class).

The answer success rate of a capability is ``ok / (ok + degraded + error)``. The runtime records
each run by decorating ``AgentRuntime.run`` and ``arun`` with :func:`records_answer` (or with
:func:`answer_recorded` around a run); :class:`AnswerMetrics` is the instruments, made when the
runtime is built (inside the command's or server's telemetry scope), not per run.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, cast

from opentelemetry.metrics import MeterProvider

from agentkit.errors import InputError, OperatorStop, ToolInputInvalid
from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc
from agentkit.telemetry.metrics import DURATION_BUCKETS_S

OK, DEGRADED, PAUSED, ERROR = "ok", "degraded", "paused", "error"
REFUSED, REJECTED = "refused", "rejected"
COMPLETED, INTERRUPTED = "completed", "interrupted"
KILL_SWITCH = "kill_switch"  # agentkit.ops.document.STOP_REASON (ops sits above telemetry)


class RunOutcome(Protocol):
    """What a run ended with (:class:`agentkit.graph.runtime.RunResult` has these)."""

    @property
    def stop_reason(self) -> str: ...

    @property
    def degraded(self) -> bool: ...


def outcome_of(result: RunOutcome) -> tuple[str, dict[str, str]]:
    """``agentkit.outcome`` of a run that returned, and the attributes that explain it."""
    if result.stop_reason == INTERRUPTED:
        return PAUSED, {}
    if result.stop_reason == KILL_SWITCH:
        return REFUSED, {sc.STOP_REASON: KILL_SWITCH}
    if result.stop_reason != COMPLETED:
        reason = result.stop_reason.split(":", 1)[0]  # budget_exceeded:tokens -> budget_exceeded
        return ERROR, {sc.STOP_REASON: reason}
    return (DEGRADED if result.degraded else OK), {}


def outcome_of_error(error: Exception) -> str:
    """``agentkit.outcome`` of a run that raised ``error``. Only the user's input is
    ``rejected``: a configuration mistake (a tool not configured, a contract version the lock
    does not hold) is the deployment's, so it is an ``error`` and spends the error budget."""
    if isinstance(error, OperatorStop):
        return REFUSED
    if isinstance(error, InputError | ToolInputInvalid):
        return REJECTED
    return ERROR


class AnswerMetrics:
    """The answer counter and duration histogram of one meter provider."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = providers.get_meter("agentkit.answers", meter_provider)
        self.answers = meter.create_counter(
            sc.METRIC_ANSWERS,
            unit="{answer}",
            description="Agent runs per capability, by outcome (ok, degraded, paused, error)",
        )
        self.duration = meter.create_histogram(
            sc.METRIC_ANSWER_DURATION,
            unit="s",
            description="Seconds from a run's start to its answer (or its end), per capability",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )

    def record(
        self, agent: str, outcome: str, seconds: float, attributes: Mapping[str, str] = {}
    ) -> None:
        tags = {sc.AGENT_NAME: agent, sc.OUTCOME: outcome, **attributes}
        self.answers.add(1, tags)
        self.duration.record(seconds, tags)


class AnswerRecord:
    """Handed to the block of :func:`answer_recorded`: call :meth:`ended` with the result."""

    def __init__(self) -> None:
        self.result: RunOutcome | None = None

    def ended(self, result: RunOutcome) -> None:
        self.result = result


@contextlib.contextmanager
def answer_recorded(
    agent: str,
    *,
    metrics: AnswerMetrics | None = None,
    meter_provider: MeterProvider | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[AnswerRecord]:
    """Record one run of ``agent``: its outcome from the result given to
    :meth:`AnswerRecord.ended`, or, when the block raised, :func:`outcome_of_error` with the
    exception's class. A block that ends without a result records nothing."""
    record = AnswerRecord()
    started = monotonic()
    metrics = metrics or AnswerMetrics(meter_provider)
    try:
        yield record
    except Exception as error:
        outcome = outcome_of_error(error)
        metrics.record(agent, outcome, monotonic() - started, {sc.ERROR_TYPE: type(error).__name__})
        raise
    if record.result is not None:
        outcome, attributes = outcome_of(record.result)
        metrics.record(agent, outcome, monotonic() - started, attributes)


class Recording(Protocol):
    name: str  # the capability: AgentRuntime.name
    answers: AnswerMetrics  # made when the runtime was built


Run = TypeVar("Run", bound=Callable[..., Any])


def records_answer(method: Run) -> Run:
    """Decorate a runtime's ``run`` (or ``async def arun``): each call is one answer of
    ``self.name``, recorded into ``self.answers`` with :func:`answer_recorded` from the result
    it returns or the exception it raises."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def arun(self: Recording, *args: Any, **kwargs: Any) -> Any:
            with answer_recorded(self.name, metrics=self.answers) as record:
                result = await cast(Callable[..., Awaitable[Any]], method)(self, *args, **kwargs)
                record.ended(result)
                return result

        return cast(Run, arun)

    @functools.wraps(method)
    def run(self: Recording, *args: Any, **kwargs: Any) -> Any:
        with answer_recorded(self.name, metrics=self.answers) as record:
            result = method(self, *args, **kwargs)
            record.ended(result)
            return result

    return cast(Run, run)
