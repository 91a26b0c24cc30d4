"""``CountTokens`` for the context budget (:mod:`agentkit.bedrock.sizing`): bounded, recorded,
and not asked again where it is refused.

- **Bounded.** A count may take :data:`COUNT_SHARE` of what is left of the call's deadline
  (:class:`~agentkit.bedrock.attempts.CallContext`), so the call itself keeps the rest, and
  never more than :data:`MAX_COUNT_S`; with less than :data:`MIN_COUNT_S` to give, it is not
  asked for. A count that has not answered by then is abandoned and the estimate stands in
  (sync: the count runs on a daemon thread with its own clients, whose connect and read
  timeouts are :data:`MAX_COUNT_S`, so the thread ends soon after and never holds the process
  open; async: the task is cancelled).
- **Cooled down.** A route whose count timed out is not counted again for :data:`COOL_DOWN_S`
  on the gateway's clock: while a Region black-holes counts, the calls on it pay one cap, not
  one each.
- **Recorded.** A failed count is an ``agentkit.context.count_failed`` span event (the route
  and the error code), and the reason the figure is missing goes on the sizing
  (:attr:`~agentkit.bedrock.sizing.Sizing.uncounted`) and its ``agentkit.context.sized`` event.
- **Remembered.** A refusal that will not change for the life of the process (the role may not
  call ``bedrock:CountTokens``; the model does not support counting) is remembered per route:
  the next request goes straight to the estimate, without a failed round trip.

The sync and the async path share :meth:`TokenCounter.allowance` and
:meth:`TokenCounter.failed`; only the call between them is awaited or waited for.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.bedrock.errors import bedrock_errors
from agentkit.bedrock.sizing import Plan, count_params
from agentkit.config import Route
from agentkit.errors import AgentkitError
from agentkit.resilience.clock import Clock

if TYPE_CHECKING:
    from agentkit.bedrock.async_client import AsyncClientFactory
    from agentkit.bedrock.attempts import CallContext
    from agentkit.bedrock.call import CallRecorder
    from agentkit.bedrock.clients import ClientFactory

# A count may take this share of the call's remaining deadline: the call keeps the rest.
COUNT_SHARE = 0.5
# Below this allowance a count is not asked for: it would be abandoned before a Region answers,
# a round trip spent for nothing.
MIN_COUNT_S = 0.25
# The most a count may take, whatever the deadline, and the sync count clients' connect and read
# timeouts. An assumption, not a sourced figure: a CountTokens answer is one small number, so a
# Region that has not given it in this long is not answering, and the estimate is good enough.
MAX_COUNT_S = 2.0
# How long (on the gateway's clock) a route whose count timed out goes straight to the estimate.
COOL_DOWN_S = 60.0
# Why a figure is missing, besides an error code.
NO_TIME = "NoTimeLeft"  # too little of the deadline left to ask
REFUSED = "CountRefused"  # the route refused before, remembered
DEADLINE = "DeadlineExceeded"  # the count did not answer within its allowance
COOLING = "CountCoolingDown"  # the route's count timed out less than COOL_DOWN_S ago
# The count clients' own timeout is the same thing as the allowance running out: DEADLINE.
_READ_TIMEOUT = "ReadTimeout"
# Failures that cost the caller the whole allowance: the route cools down after one.
_SLOW = (DEADLINE, "ConnectTimeout")
# Refusals that hold for the life of the process, as (code, message fragment or "" for any).
# "The provided model doesn't support counting tokens." (HTTP 400, ValidationException), as
# reported in https://github.com/maximhq/bifrost/pull/2169 (2026-03).
_LASTING = (
    ("AccessDeniedException", ""),
    ("ValidationException", "support counting tokens"),
)


@dataclass(frozen=True)
class Count:
    """One count's outcome: the figure, or why there is none."""

    tokens: int | None
    missing: str | None = None


NOT_COUNTED = Count(None)  # the plan did not ask for a count


class TokenCounter:
    """Asks ``CountTokens`` on a route's Region for the gateway; thread-safe, one per gateway.

    A sync count runs on a daemon thread of its own, with clients bounded to
    :data:`MAX_COUNT_S` (:meth:`ClientFactory.bounded`): a thread is started per count, and each
    ends within about twice that (connect, then read), so there are never more than the callers
    waiting on counts plus those abandoned in the last few seconds."""

    def __init__(
        self,
        clients: ClientFactory,
        async_clients: AsyncClientFactory | None,
        clock: Clock,
    ) -> None:
        self._clients = clients.bounded(MAX_COUNT_S)
        self._async_clients = async_clients
        self._clock = clock
        self._refused: set[str] = set()  # route names
        self._cooling: dict[str, float] = {}  # route name -> counted again from (on the clock)
        self._lock = threading.Lock()

    def allowance(self, route: Route, deadline: float) -> float | str:
        """The seconds a count on ``route`` may take before ``deadline`` (on the clock), or why
        it is not asked for."""
        now = self._clock.now()
        with self._lock:
            if route.name in self._refused:
                return REFUSED
            if now < self._cooling.get(route.name, now):
                return COOLING
        allowance = min((deadline - now) * COUNT_SHARE, MAX_COUNT_S)
        return allowance if allowance >= MIN_COUNT_S else NO_TIME

    def count(self, sized: Plan, kwargs: dict[str, Any], call: CallContext) -> Count:
        """CountTokens' figure for the Converse ``kwargs`` on the plan's route, within its
        share of the call's deadline, or why there is none."""
        route, recorder = sized.route, call.recorder
        allowance = self.allowance(route, call.deadline)
        if isinstance(allowance, str):
            return Count(None, allowance)
        params = count_params(sized, kwargs)
        future: Future[int] = Future()
        threading.Thread(
            target=self._call, args=(route, params, future), name="agentkit-count", daemon=True
        ).start()
        try:
            return Count(future.result(timeout=allowance))
        except FutureTimeout:  # abandoned: its thread ends at the count clients' timeout
            return self.failed(route, DEADLINE, recorder)
        except AgentkitError as error:
            return self.failed(route, _code(error), recorder, error)

    async def acount(self, sized: Plan, kwargs: dict[str, Any], call: CallContext) -> Count:
        """:meth:`count` on the event loop: the call is awaited, and cancelled at the bound."""
        route, recorder = sized.route, call.recorder
        allowance = self.allowance(route, call.deadline)
        if isinstance(allowance, str):
            return Count(None, allowance)
        params = count_params(sized, kwargs)
        try:
            return Count(await asyncio.wait_for(self._acall(route, params), allowance))
        except TimeoutError:
            return self.failed(route, DEADLINE, recorder)
        except AgentkitError as error:
            return self.failed(route, _code(error), recorder, error)

    def failed(
        self,
        route: Route,
        code: str,
        recorder: CallRecorder,
        error: AgentkitError | None = None,
    ) -> Count:
        """A count that failed with ``code``: recorded, remembered when it will not change, and
        cooled down when it cost the whole allowance."""
        code = DEADLINE if code == _READ_TIMEOUT else code
        with self._lock:
            if error is not None and _lasting(code, str(error)):
                self._refused.add(route.name)
            elif code in _SLOW:
                self._cooling[route.name] = self._clock.now() + COOL_DOWN_S
        recorder.count_failed(route, code)
        return Count(None, code)

    def close(self) -> None:
        """Close the count clients; never waits for a count (its thread is a daemon)."""
        self._clients.close()

    def _call(self, route: Route, params: dict[str, Any], future: Future[int]) -> None:
        try:
            with bedrock_errors(route.model, route.region):
                client = self._clients.client(route.region)
                future.set_result(int(client.count_tokens(**params)["inputTokens"]))
        except BaseException as error:  # handed to the waiting caller, if it still waits
            future.set_exception(error)

    async def _acall(self, route: Route, params: dict[str, Any]) -> int:
        assert self._async_clients is not None, "a counter built without async clients"
        with bedrock_errors(route.model, route.region):
            client = self._async_clients.client(route.region)
            answer = await client.count_tokens(**params)
        return int(answer["inputTokens"])


def _code(error: AgentkitError) -> str:
    return getattr(error, "code", None) or type(error).__name__


def _lasting(code: str, message: str) -> bool:
    lowered = message.lower()
    return any(code == known and fragment in lowered for known, fragment in _LASTING)
