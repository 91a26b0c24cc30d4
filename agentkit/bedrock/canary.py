"""Cold-path canaries: the cheapest valid request through each configured route, on its own.

A fallback route is the one nobody uses until the incident, so it is the one most likely to be
dead when it is needed (a LEGACY model that locked the account out, a policy deny, a model the
Region no longer serves). A canary run sends one fixed prompt with ``maxTokens`` 1 through every
route, each through a one-route :class:`~agentkit.bedrock.gateway.Gateway` (so error translation
and the breaker apply, fallback does not: each route is judged on its own), with one attempt and
no retry. It records the last success per route in a small state file, so a route's inactivity
is visible, counts successes and failures per route in OpenTelemetry metrics, and names each
dead route with the error class that says why and what to fix.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry.metrics import MeterProvider

from agentkit.bedrock.clients import ClientFactory
from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.bedrock.types import ModelRequest
from agentkit.config import AgentkitConfig, Route
from agentkit.errors import AgentkitError, AllRoutesFailed, InputError
from agentkit.fsutil import atomic_write
from agentkit.resilience.retry import RetryPolicy
from agentkit.telemetry import providers

PROMPT = "Reply with OK."  # fixed: the same tokens every run
MAX_TOKENS = 1
STATE_NAME = "canary.json"
STATE_VERSION = 1
JITTER = 0.1  # each wait is the interval +/- 10 %, so a fleet's canaries do not align

Now = Callable[[], datetime]


def canary_request() -> ModelRequest:
    return ModelRequest(
        messages=[{"role": "user", "content": [{"text": PROMPT}]}], max_tokens=MAX_TOKENS
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- cost ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostBound:
    """The most one run can spend: one request per route, input estimate + 1 output token."""

    routes: int
    input_tokens: int  # per request (the estimate the emulator and admission use)
    output_tokens: int = MAX_TOKENS

    @property
    def tokens(self) -> int:
        return self.routes * (self.input_tokens + self.output_tokens)

    def describe(self) -> str:
        return (
            f"canary cost bound per run: {self.routes} route(s) x ({self.input_tokens} input "
            f"+ {self.output_tokens} output token) = {self.tokens} tokens, "
            f"{self.routes} request(s), no retries"
        )


def cost_bound(routes: Sequence[Route]) -> CostBound:
    request = canary_request()
    estimate = max((converse_input_tokens(request.to_converse(r.model)) for r in routes), default=0)
    return CostBound(len(routes), estimate)


# --- state ---------------------------------------------------------------------------------------


@dataclass
class RouteState:
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str | None = None


def read_state(path: Path) -> dict[str, RouteState]:
    """Per route name, its last success and last attempt; empty when there is no file yet."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeError, json.JSONDecodeError) as error:
        raise InputError(
            f"{path}: canary state is unreadable ({error}); delete it (it is rebuilt on the "
            "next run) or pass another --state FILE"
        ) from None
    routes = doc.get("routes") if isinstance(doc, dict) else None
    if not isinstance(routes, dict):
        raise InputError(f"{path}: not a canary state file; delete it or pass another --state")
    known = set(RouteState.__dataclass_fields__)
    return {
        name: RouteState(**{k: v for k, v in entry.items() if k in known})
        for name, entry in routes.items()
        if isinstance(entry, dict)
    }


def write_state(path: Path, state: dict[str, RouteState]) -> None:
    doc = {"version": STATE_VERSION, "routes": {k: asdict(v) for k, v in sorted(state.items())}}
    atomic_write(path, json.dumps(doc, indent=2) + "\n")


# --- a run ---------------------------------------------------------------------------------------


@dataclass
class CanaryResult:
    route: str
    model: str
    region: str
    ok: bool
    at: str
    latency_s: float
    last_success: str | None
    error_type: str | None = None  # the agentkit error class: ModelLifecycleLocked ...
    error_code: str | None = None  # Bedrock's code: ResourceNotFoundException ...
    message: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    def describe(self) -> str:
        """``model@region: ModelLifecycleLocked: <message, with its fix>``."""
        if self.ok:
            return f"{self.route}: ok ({self.latency_s * 1000:.0f} ms)"
        return f"{self.route}: {self.error_type}: {self.message}"


@dataclass
class CanaryRun:
    started: str
    cost: CostBound
    results: list[CanaryResult] = field(default_factory=list)

    @property
    def dead(self) -> list[CanaryResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "ok": not self.dead,
            "cost_bound": {
                "routes": self.cost.routes,
                "input_tokens_per_request": self.cost.input_tokens,
                "output_tokens_per_request": self.cost.output_tokens,
                "tokens": self.cost.tokens,
            },
            "routes": [asdict(r) for r in self.results],
            "dead": [r.route for r in self.dead],
        }


class CanaryMetrics:
    """``agentkit.canary.checks``: one count per route and run, ``outcome`` success or failure
    (and ``error.type`` on a failure). The meter provider passed, else the CLI command's (the
    ``telemetry:`` exporter of agentkit.yaml), else the global one (a no-op until the
    application installs one)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = providers.get_meter("agentkit.canary", meter_provider)
        self._checks = meter.create_counter(
            "agentkit.canary.checks",
            unit="{check}",
            description="Canary requests per route, by outcome",
        )

    def record(self, result: CanaryResult) -> None:
        attributes = {
            "agentkit.route": result.route,
            "cloud.region": result.region,
            "outcome": "success" if result.ok else "failure",
        }
        if result.error_type:
            attributes["error.type"] = result.error_type
        self._checks.add(1, attributes)


class Canary:
    """Runs canaries for the routes of one ``agentkit.yaml``."""

    def __init__(
        self,
        config: AgentkitConfig,
        *,
        state_path: Path,
        now: Now = utc_now,
        meter_provider: MeterProvider | None = None,
        gateway_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.state_path = state_path
        self.now = now
        self.metrics = CanaryMetrics(meter_provider)
        self.gateway_options = dict(gateway_options or {})

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.config.models.routes

    def cost(self) -> CostBound:
        return cost_bound(self.routes)

    def run_once(self) -> CanaryRun:
        state = read_state(self.state_path)
        run = CanaryRun(started=_iso(self.now()), cost=self.cost())
        clients = ClientFactory(self.config.resilience.timeouts, self.config.models.endpoints)
        try:
            for route in self.routes:
                result = self._probe(route, clients, state.get(route.name, RouteState()))
                run.results.append(result)
                state[route.name] = RouteState(
                    last_success=result.last_success,
                    last_attempt=result.at,
                    last_error=None if result.ok else result.describe(),
                )
                self.metrics.record(result)
        finally:
            clients.close()
        write_state(self.state_path, state)
        return run

    def _probe(self, route: Route, clients: ClientFactory, before: RouteState) -> CanaryResult:
        """One attempt through a gateway of this route alone: no fallback, no retry."""
        from agentkit.bedrock.gateway import Gateway

        single = self.config.model_copy(
            update={"models": self.config.models.model_copy(update={"routes": (route,)})}
        )
        options: dict[str, Any] = {
            "clients": clients,
            "retry": RetryPolicy(max_attempts=1),
            "hedge_delay_s": None,
            "admission": None,
            **self.gateway_options,
        }
        gateway = Gateway.from_config(single, **options)
        at = _iso(self.now())
        started = time.perf_counter()
        try:
            response = gateway.converse(canary_request())
        except AgentkitError as error:
            cause = _cause(error)
            return CanaryResult(
                route=route.name,
                model=route.model,
                region=route.region,
                ok=False,
                at=at,
                latency_s=time.perf_counter() - started,
                last_success=before.last_success,
                error_type=type(cause).__name__,
                error_code=getattr(cause, "code", None) or None,
                message=str(cause),
            )
        return CanaryResult(
            route=route.name,
            model=route.model,
            region=route.region,
            ok=True,
            at=at,
            latency_s=time.perf_counter() - started,
            last_success=at,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
        )

    def run_every(
        self,
        interval_s: float,
        *,
        runs: int | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> Iterator[CanaryRun]:
        """A run now, then one every ``interval_s`` (+/- 10 % jitter), until ``runs`` runs (or
        forever: the caller stops it)."""
        if interval_s <= 0:
            raise InputError("--every: the interval must be positive, e.g. --every 15m")
        rng = rng or random.Random()
        pause = sleep or time.sleep
        done = 0
        while True:
            yield self.run_once()
            done += 1
            if runs is not None and done >= runs:
                return
            pause(interval_s * (1 + rng.uniform(-JITTER, JITTER)))


def _cause(error: AgentkitError) -> AgentkitError:
    """The route's own error: a one-route gateway wraps it in :class:`AllRoutesFailed`."""
    cause = error.__cause__
    if isinstance(error, AllRoutesFailed) and isinstance(cause, AgentkitError):
        return cause
    return error


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_interval(text: str) -> float:
    """Seconds in ``15m``, ``90s``, ``1h``, ``1h30m`` or a plain number of seconds."""
    raw = text.strip().lower()
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    total, number = 0.0, ""
    try:
        for char in raw:
            if char.isdigit() or char == ".":
                number += char
            elif char in units and number:
                total += float(number) * units[char]
                number = ""
            else:
                raise ValueError(char)
        if number:
            total += float(number)
    except ValueError:
        total = 0.0
    if total <= 0:
        raise InputError(f"--every {text!r}: not an interval; use e.g. 15m, 90s or 1h")
    return total


def default_state_path(home: str) -> Path:
    return Path(home) / STATE_NAME
