"""What ``agentkit serve`` runs: the DR advisor, its session store, and the request schema.

A turn runs on the event loop (:meth:`Advisor.aask`, ``AgentRuntime.arun``): the gateway's model
calls and the session store's reads and writes are awaited, so one worker serves many sessions
with no thread per turn (``agentkit.serve.http`` bounds how many at once). One :class:`Advisor`
per worker process serves every request; each turn has its own run context, so concurrent turns
never share per-run state. The sync methods (:meth:`Advisor.ask`) remain for callers without a
loop.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from agentkit.errors import AgentkitError, InputError, UserError

if TYPE_CHECKING:
    from agentkit.agents.dr.agent import Answer, Pending
    from agentkit.agents.sessions import Sessions
    from agentkit.bedrock.health import Health
    from agentkit.bedrock.types import ModelInterface
    from agentkit.config import AgentkitConfig
    from agentkit.graph import AgentRuntime
    from agentkit.ops import OverrideView
    from agentkit.telemetry.setup import Telemetry

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
SETTINGS_VARIABLE = "AGENTKIT_SERVE_SETTINGS"  # how the CLI hands settings to worker processes
DEADLINE_GRACE_S = 10.0  # the default deadline: the turn's own budget, plus this
# How long advice waits for an approval; then the next request for its session declines it
APPROVAL_TIMEOUT_S = 900.0
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")


@dataclass(frozen=True)
class ServeSettings:
    """The options of ``agentkit serve`` that every worker process needs."""

    config: str | None = None  # agentkit.yaml; None: ./agentkit.yaml or the built-in default
    sessions: str | None = None  # the SQLite file (sessions.backend: sqlite)
    capacity: int = 16  # turns running at once, per worker process
    max_body_bytes: int = 256 * 1024
    deadline_s: float | None = None  # None: limits.deadline_s + DEADLINE_GRACE_S
    health_ttl_s: float = 10.0  # a deep-health verdict is reused this long
    canary_state: str | None = None  # last success per route (default $AGENTKIT_HOME)
    approval_timeout_s: float = APPROVAL_TIMEOUT_S  # then a pending approval is declined

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))

    @classmethod
    def from_environment(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_VARIABLE)
        return cls.from_json(raw) if raw else cls()


# --- the request -------------------------------------------------------------------------------


class ApprovalDecision(BaseModel):
    """A person's decision on advice that waits for approval (``approval.status: pending``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    approved: StrictBool
    by: str = Field(min_length=1, max_length=200, description="Who decided (for the record).")


class InvocationRequest(BaseModel):
    """The body of ``POST /invocations``: a question, or a decision on a paused turn."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="InvocationRequest")
    prompt: str | None = Field(
        default=None,
        description="The question for the DR advisor (at most 20,000 characters).",
        examples=["payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"],
    )
    session_id: str | None = Field(
        default=None,
        description=f"Continue (or start) this session; the {SESSION_HEADER} header is the "
        "same. Without either, a new session is started and its id returned.",
        max_length=256,
    )
    stream: StrictBool = Field(
        default=False,
        description="Answer as Server-Sent Events (as does Accept: text/event-stream).",
    )
    approval: ApprovalDecision | None = Field(
        default=None, description="Approve or decline the advice the session waits on."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> InvocationRequest:
        if (self.prompt is None) == (self.approval is None):
            raise ValueError('give either "prompt" (a question) or "approval" (a decision)')
        if self.approval is not None and self.session_id is None:
            raise ValueError("an approval needs the session it decides (session_id or header)")
        return self


def parse_invocation(body: bytes, header_session: str | None) -> InvocationRequest:
    """The request, or :class:`InputError` with one line naming the problem."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("the body is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise InputError(f"invalid JSON: {error.msg} at {where}") from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError('the body must be a JSON object, e.g. {"prompt": "RTO 15 min ..."}')
    if header_session is not None:
        if data.get("session_id") not in (None, header_session):
            raise InputError(f"session_id differs from the {SESSION_HEADER} header; send one")
        data = {**data, "session_id": header_session}
    try:
        request = InvocationRequest.model_validate(data)
    except ValidationError as error:
        raise InputError(_first_error(error)) from None
    if request.session_id is not None and not _SESSION_ID.fullmatch(request.session_id):
        raise InputError(
            "session_id: 1-256 characters of letters, digits and . _ : - (starting with a "
            "letter or digit)"
        )
    if request.prompt is not None:
        from agentkit.cli.options import check_question

        try:
            check_question(request.prompt)
        except InputError as error:
            raise InputError(str(error).replace("question:", "prompt:", 1)) from None
    return request


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field; the fields are prompt, session_id, stream and approval"
    return f"{where}: {message}" if where else message


def new_session() -> str:
    return uuid.uuid4().hex


# --- the advisor -------------------------------------------------------------------------------


class NoPendingApproval(UserError):
    """An approval for a session that waits on none."""


class ApprovalPending(UserError):
    """A new question for a session whose advice still waits for an approval."""


class Advisor:
    """One worker's DR advisor: the runtime, the session store and the deep-health probe."""

    def __init__(
        self,
        config: AgentkitConfig,
        runtime: AgentRuntime,
        store: Sessions | None,
        *,
        telemetry: Telemetry | None = None,
        canary_state: Path | None = None,
        health_ttl_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        overrides: OverrideView | None = None,
        approval_timeout_s: float = APPROVAL_TIMEOUT_S,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.store = store
        self.telemetry = telemetry
        self.canary_state = canary_state
        self.health_ttl_s = health_ttl_s
        self._monotonic = monotonic
        self._health: tuple[float, Health] | None = None
        self._health_lock = threading.Lock()
        self.overrides = overrides  # the operator overrides this worker obeys (installed)
        self.approval_timeout_s = approval_timeout_s
        self._wall = wall  # unix time: approvals pending in a shared store expire on any worker

    @classmethod
    def open(
        cls,
        settings: ServeSettings,
        *,
        model: ModelInterface | str | None = "auto",
        telemetry: Telemetry | None = None,
        wall: Callable[[], float] = time.time,
    ) -> Advisor:
        """Load agentkit.yaml, open the session store and build the advisor; a mistake in any
        of them is an :class:`AgentkitError` naming it."""
        from agentkit.agents.dr.agent import build_advisor
        from agentkit.agents.sessions import open_sessions
        from agentkit.config import load_config
        from agentkit.ops import install, open_view
        from agentkit.paths import agentkit_home
        from agentkit.telemetry.setup import start

        config = load_config(settings.config)
        overrides = open_view(config)
        home = Path(agentkit_home())
        sqlite = Path(settings.sessions) if settings.sessions else home / "sessions.sqlite"
        telemetry = telemetry or start(config.telemetry)
        store = open_sessions(config.sessions, sqlite)
        try:
            with telemetry.scope():  # gateway metrics and tool spans use these providers
                runtime = build_advisor(
                    config,
                    checkpointer=store.checkpointer,
                    tracer_provider=telemetry.tracer_provider,
                    model=model,
                )
        except BaseException:
            store.close()
            overrides.close()
            raise
        state = Path(settings.canary_state) if settings.canary_state else home / "canary.json"
        install(overrides)
        return cls(
            config,
            runtime,
            store,
            telemetry=telemetry,
            canary_state=state,
            health_ttl_s=settings.health_ttl_s,
            overrides=overrides,
            approval_timeout_s=settings.approval_timeout_s,
            wall=wall,
        )

    @property
    def sessions_serialised(self) -> bool:
        """True when the store runs one turn at a time for every session (SQLite's file lock);
        PostgreSQL serialises per session."""
        return self.config.sessions.backend == "sqlite"

    def ask(self, prompt: str, session: str, on_text: Callable[[str], None] | None) -> Answer:
        """A turn of ``session``; an approval it waited on past the timeout is declined first,
        and one still within it refuses the turn (it must be decided, never dropped)."""
        from agentkit.agents.dr.agent import ask, pending

        waiting = pending(self.runtime, session)
        if waiting is not None and not self._expire(session, waiting):
            raise self._still_pending(session, waiting)
        now = self._wall()
        answer = ask(self.runtime, prompt, session, on_text=on_text, asked_at=now)
        return self._expiring(_answered(answer), now)

    async def aask(
        self, prompt: str, session: str, on_text: Callable[[str], None] | None
    ) -> Answer:
        """:meth:`ask` on the event loop; ``on_text`` is called there."""
        from agentkit.agents.dr.agent import aask, apending

        waiting = await apending(self.runtime, session)
        if waiting is not None and not await self._aexpire(session, waiting):
            raise self._still_pending(session, waiting)
        now = self._wall()
        answer = await aask(self.runtime, prompt, session, on_text=on_text, asked_at=now)
        return self._expiring(_answered(answer), now)

    def refused(self) -> str | None:
        """Why a new turn is refused right now (the operator's kill switch), or None."""
        from agentkit.ops import KillSwitchOn, current

        overrides = current()
        return str(KillSwitchOn(overrides)) if overrides.kill_switch else None

    def decide(self, session: str, approved: bool, by: str) -> Answer:
        """A person's decision on the approval ``session`` waits on; refused when none waits,
        or when it timed out (then it is declined here, by ``timeout``, and recorded)."""
        from agentkit.agents.dr.agent import decide, pending

        waiting = pending(self.runtime, session)
        if waiting is None:
            raise _no_pending(session)
        if self._expire(session, waiting):
            raise _no_pending(session, self.approval_timeout_s)
        return decide(self.runtime, session, approved, by=by)

    async def adecide(self, session: str, approved: bool, by: str) -> Answer:
        """:meth:`decide` on the event loop."""
        from agentkit.agents.dr.agent import adecide, apending

        waiting = await apending(self.runtime, session)
        if waiting is None:
            raise _no_pending(session)
        if await self._aexpire(session, waiting):
            raise _no_pending(session, self.approval_timeout_s)
        return await adecide(self.runtime, session, approved, by=by)

    # An approval times out lazily: the next request for its session finds it expired (its
    # question's time is stored with the session) and declines it, so the safe option stands.
    # No timer: any worker sharing the session store can do it, and a test's clock decides.

    def _expired(self, waiting: Pending | None) -> bool:
        if waiting is None:
            return False
        if waiting.asked_at is None:  # paused before the time was stored: too old to know
            return True
        return self._wall() >= waiting.asked_at + self.approval_timeout_s

    def _expire(self, session: str, waiting: Pending | None) -> bool:
        from agentkit.agents.dr.agent import TIMED_OUT, decide

        if not self._expired(waiting):
            return False
        decide(self.runtime, session, False, by=TIMED_OUT, note=self._timeout_note())
        return True

    async def _aexpire(self, session: str, waiting: Pending | None) -> bool:
        from agentkit.agents.dr.agent import TIMED_OUT, adecide

        if not self._expired(waiting):
            return False
        await adecide(self.runtime, session, False, by=TIMED_OUT, note=self._timeout_note())
        return True

    def _still_pending(self, session: str, waiting: Pending) -> ApprovalPending:
        left = ""
        if waiting.asked_at is not None:
            left = f" for {waiting.asked_at + self.approval_timeout_s - self._wall():.0f} s more"
        return ApprovalPending(
            f"session {session}: advice waits for an approval{left}; decide it first "
            '({"session_id": ..., "approval": {"approved": true|false, "by": NAME}}) or ask in '
            "another session"
        )

    def _timeout_note(self) -> str:
        return f"no decision within the {self.approval_timeout_s:g} s approval timeout"

    def _expiring(self, answer: Answer, asked_at: float) -> Answer:
        """A pending approval says when it expires (unix s)."""
        if answer.approval is None or answer.approval["status"] != "pending":
            return answer
        expires_at = asked_at + self.approval_timeout_s
        return replace(answer, approval={**answer.approval, "expires_at": expires_at})

    def health(self) -> Health:
        """Deep health from one canary probe per route, this worker's breakers and its session
        store, reused for ``health_ttl_s`` so health checkers polling every worker cost at most
        one probe per route per interval. One probe at a time: concurrent callers wait for it
        and share its verdict."""
        with self._health_lock:
            cached = self._health
            if cached is not None and self._monotonic() - cached[0] < self.health_ttl_s:
                return cached[1]
            verdict = self._probe()
            self._health = (self._monotonic(), verdict)
            return verdict

    def _probe(self) -> Health:
        from agentkit.bedrock.canary import Canary
        from agentkit.bedrock.health import Backend, deep_health
        from agentkit.paths import agentkit_home

        state = self.canary_state or Path(agentkit_home()) / "canary.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        meters = self.telemetry.meter_provider if self.telemetry else None
        run = Canary(self.config, state_path=state, meter_provider=meters).run_once()
        breaker_states = getattr(self.runtime.model, "breaker_states", None)  # None: no gateway
        backends: tuple[Backend, ...] = ()
        if self.store is not None:
            backends = (
                Backend(f"sessions ({self.config.sessions.backend})", self.store.unreachable()),
            )
        return deep_health(
            run,
            breakers=breaker_states() if callable(breaker_states) else None,
            backends=backends,
        )

    async def aclose(self) -> None:
        """Close what belongs to the event loop (the gateway's asyncio pools, the session
        store's async side), then the rest (:meth:`close`) in a worker thread."""
        import anyio.to_thread

        try:
            aclose = getattr(self.runtime.model, "aclose", None)
            if callable(aclose):
                await aclose()
        finally:
            try:
                if self.store is not None:
                    await self.store.aclose()
            finally:
                await anyio.to_thread.run_sync(self.close)

    def close(self) -> None:
        try:
            model = self.runtime.model
            close = getattr(model, "close", None)
            if callable(close):
                close()
            if self.runtime.tools is not None:
                self.runtime.tools.close()
        finally:
            try:
                if self.store is not None:
                    self.store.close()
            finally:
                try:
                    if self.telemetry is not None:
                        self.telemetry.shutdown()
                finally:
                    if self.overrides is not None:
                        from agentkit.ops import install

                        install(None)
                        self.overrides.close()


def _answered(answer: Answer) -> Answer:
    """The turn's answer; a turn the kill switch stopped at a step (no answer at all) is
    :class:`KillSwitchOn`."""
    from agentkit.ops import KillSwitchOn, current

    overrides = current()
    if not answer.source and overrides.kill_switch:
        raise KillSwitchOn(overrides, running=True)
    return answer


def _no_pending(session: str, timed_out_after_s: float | None = None) -> NoPendingApproval:
    message = f"session {session}: no advice waits for an approval"
    if timed_out_after_s is not None:
        message += (
            f" (it timed out after {timed_out_after_s:g} s and was declined: the safe option "
            "stands)"
        )
    return NoPendingApproval(message)


def error_status(error: BaseException) -> tuple[int, str]:
    """The HTTP status and error code for what a turn raised."""
    from agentkit.agents.sessions import SessionBusy
    from agentkit.ops import KillSwitchOn

    if isinstance(error, KillSwitchOn):
        return 503, "kill_switch"
    if isinstance(error, NoPendingApproval):
        return 409, "no_pending_approval"
    if isinstance(error, ApprovalPending):
        return 409, "approval_pending"
    if isinstance(error, SessionBusy):
        return 409, "session_busy"
    if isinstance(error, UserError):
        return 400, "invalid_request"
    if isinstance(error, AgentkitError):
        return 502, type(error).__name__
    return 500, "internal_error"
