"""Resilience state a fleet of workers shares on Redis: breakers, admission buckets, retry budget.

``resilience.state: {backend: redis, url, prefix}`` puts here what each process otherwise keeps in
memory, so that one worker's lesson is the fleet's (docs/scaleout.md):

- **Breakers** (:class:`RedisBreakerStore`): pybreaker's storage interface on one Redis hash per
  route (state, failure and success counters, opened-at), the semantics of pybreaker's own
  ``CircuitRedisStorage`` with three differences: opened-at is kept on the injected clock (to the
  sub-second, so tests never sleep), every key has a TTL, and a Redis error falls back to local
  state instead of to "closed". The half-open probe is taken by ``SET NX PX`` on a probe key, so
  exactly one worker of the fleet probes; the key expires by itself if that worker dies. The
  slow-call streak and the failure-ratio window stay per process; what they decide (open) is shared.
- **Admission buckets** (:class:`RedisWindowBucket`): the sliding one-minute window of
  :class:`~agentkit.capacity.bucket.WindowBucket` (a log of reservations in a sorted set, with a
  running sum; settling puts the actual usage in place of the reservation; entries leave after
  60 s), one Lua script per operation, atomic on the server, so that any 60-second window admits
  no more than the configured tokens (and requests) per minute for the whole fleet. The time is
  the caller's clock, passed in (not Redis ``TIME``): deterministic tests, and a fleet on
  NTP-synchronised hosts agrees to well under a second; the window's time never runs backwards
  (a worker whose clock is behind uses the latest time the window has seen).
- **Retry budget** (:class:`RedisRetryBudget`): one balance for the fleet, deposited and spent by a
  Lua script.

Keys are ``<prefix><kind>:<route>`` (the window: ``<prefix>bucket:{<route>}`` and its ``:log``)
with ``prefix`` one per deployment (default ``agentkit:``).

**Redis unreachable is never an outage.** Every operation has a short socket timeout and no
client retries; on an error the :class:`RedisLink` logs a warning, counts a fallback (metric
``agentkit.resilience.state.fallbacks``, by component), and for ``retry_after_s`` every
operation goes straight to the process's local state (the embedded classes) without touching the
network. After that, the next operation tries Redis again. While on local state each worker has
its own breakers and its own full quota, exactly as a single process would.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import pybreaker
import redis
from opentelemetry.metrics import MeterProvider
from redis.backoff import NoBackoff
from redis.retry import Retry

from agentkit.capacity.bucket import WINDOW_S, BucketState, Reservation, WindowBucket
from agentkit.config import StateConfig
from agentkit.resilience.breaker import CLOSED, ClockedMemoryStorage
from agentkit.resilience.clock import Clock
from agentkit.resilience.retry import RetryBudget
from agentkit.telemetry import providers

T = TypeVar("T")
_log = logging.getLogger("agentkit.resilience.state")
METRIC_FALLBACKS = "agentkit.resilience.state.fallbacks"


class WallClock:
    """Seconds since the epoch: the one clock every host of a fleet shares (NTP)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


WALL_CLOCK = WallClock()


class _Local:
    """Redis is out: ask the local state."""


_LOCAL = _Local()


class RedisLink:
    """One Redis client for a process's resilience state, with a short circuit of its own: after
    an error, local state for ``retry_after_s``, then Redis again."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "agentkit:",
        key_ttl_s: float = 86_400.0,
        retry_after_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.key_ttl_ms = int(key_ttl_s * 1000)
        self.retry_after_s = retry_after_s
        self._monotonic = monotonic
        self._down_until: float | None = None
        self._lock = threading.Lock()
        self.fallbacks = 0  # operations served from local state
        self.outages = 0  # times Redis was found unreachable
        meter = providers.get_meter("agentkit.resilience.state", meter_provider)
        self._counter = meter.create_counter(
            METRIC_FALLBACKS,
            unit="{operation}",
            description="Resilience-state operations served from local state: Redis unreachable",
        )

    @classmethod
    def from_config(
        cls, config: StateConfig, *, meter_provider: MeterProvider | None = None
    ) -> RedisLink:
        client = redis.Redis.from_url(
            config.url,
            socket_timeout=config.socket_timeout_s,
            socket_connect_timeout=config.socket_timeout_s,
            retry=Retry(NoBackoff(), 0),  # the link decides when to try again, not the client
            health_check_interval=0,
        )
        return cls(
            client,
            prefix=config.prefix,
            key_ttl_s=config.key_ttl_s,
            retry_after_s=config.retry_after_s,
            meter_provider=meter_provider,
        )

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def degraded(self) -> bool:
        """True while operations go to local state."""
        until = self._down_until
        return until is not None and self._monotonic() < until

    def run(self, component: str, op: Callable[[redis.Redis], T], local: Callable[[], T]) -> T:
        """``op`` on Redis, or ``local()`` when Redis is (or was recently found) unreachable."""
        if not self.degraded:
            try:
                result = op(self.client)
            except redis.RedisError as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return result
        with self._lock:
            self.fallbacks += 1
        self._counter.add(1, {"component": component})
        return local()

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = self._monotonic() + self.retry_after_s
            self.outages += 1
        if first:
            _log.warning(
                "Redis unreachable for resilience state (%s): using local state, retrying Redis "
                "every %g s",
                exc,
                self.retry_after_s,
            )

    def _came_back(self) -> None:
        if self._down_until is None:
            return
        with self._lock:
            self._down_until = None
        _log.info("Redis reachable again: resilience state is shared again")

    def close(self) -> None:
        self.client.close()


# --- breakers -------------------------------------------------------------------------------


class RedisBreakerStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's storage interface on one Redis hash per route; local state when Redis is out."""

    def __init__(self, link: RedisLink, route: str, clock: Clock) -> None:
        super().__init__("redis")
        self._link = link
        self._key = link.key("breaker", route)
        self._clock = clock
        self._local = ClockedMemoryStorage(clock)

    def _get(self, field: str) -> bytes | _Local | None:
        def op(r: redis.Redis) -> bytes | _Local | None:
            value: bytes | None = r.hget(self._key, field)  # type: ignore[assignment]
            return value

        return self._link.run("breaker", op, lambda: _LOCAL)

    def _write(self, local: Callable[[], None], *commands: tuple[str, str, Any]) -> None:
        def op(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=True)
            for verb, field, value in commands:
                if verb == "set":
                    pipe.hset(self._key, field, value)
                else:
                    pipe.hincrby(self._key, field, int(value))
            pipe.pexpire(self._key, self._link.key_ttl_ms)
            pipe.execute()

        self._link.run("breaker", op, local)

    @property
    def state(self) -> str:
        value = self._get("state")
        if isinstance(value, _Local):
            return str(self._local.state)
        return value.decode() if value else CLOSED

    @state.setter
    def state(self, state: str) -> None:
        def local() -> None:
            self._local.state = state

        self._write(local, ("set", "state", str(state)))

    def increment_counter(self) -> None:
        self._write(self._local.increment_counter, ("incr", "fail", 1))

    def reset_counter(self) -> None:
        self._write(self._local.reset_counter, ("set", "fail", 0))

    def increment_success_counter(self) -> None:
        self._write(self._local.increment_success_counter, ("incr", "success", 1))

    def reset_success_counter(self) -> None:
        self._write(self._local.reset_success_counter, ("set", "success", 0))

    @property
    def counter(self) -> int:
        value = self._get("fail")
        return int(self._local.counter) if isinstance(value, _Local) else int(value or 0)

    @property
    def success_counter(self) -> int:
        value = self._get("success")
        return int(self._local.success_counter) if isinstance(value, _Local) else int(value or 0)

    @property
    def opened_at(self) -> datetime | None:
        value = self._get("opened_at")
        if isinstance(value, _Local):
            local: datetime | None = self._local.opened_at
            return local
        if not value:
            return None
        ago = self._clock.now() - float(value)
        return datetime.now(UTC) - timedelta(seconds=ago)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        def local() -> None:
            self._local.opened_at = value

        self._write(local, ("set", "opened_at", repr(self._clock.now())))


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisProbeGate:
    """One half-open probe for the whole fleet: ``SET NX PX`` on the route's probe key."""

    def __init__(self, link: RedisLink, route: str, ttl_s: float) -> None:
        self._link = link
        self._key = link.key("probe", route)
        self._ttl_ms = int(ttl_s * 1000)
        self._token = uuid.uuid4().hex
        self._release = link.client.register_script(_RELEASE)

    def try_acquire(self) -> bool:
        def op(r: redis.Redis) -> bool:
            return bool(r.set(self._key, self._token, nx=True, px=self._ttl_ms))

        return self._link.run("breaker", op, lambda: True)  # local: the process's own lock

    def release(self) -> None:
        def op(r: redis.Redis) -> None:
            self._release(keys=[self._key], args=[self._token], client=r)

        self._link.run("breaker", op, lambda: None)


class RedisBreakerStore:
    """A :class:`~agentkit.resilience.breaker.SharedBreakerStore` on Redis."""

    def __init__(self, link: RedisLink, clock: Clock = WALL_CLOCK, probe_ttl_s: float = 60.0):
        self.link = link
        self._clock = clock
        self._probe_ttl_s = probe_ttl_s

    def storage(self, route: str) -> pybreaker.CircuitBreakerStorage:
        return RedisBreakerStorage(self.link, route, self._clock)

    def probe_gate(self, route: str) -> RedisProbeGate:
        return RedisProbeGate(self.link, route, self._probe_ttl_s)


# --- admission buckets ----------------------------------------------------------------------

# The sliding window of agentkit.capacity.bucket.WindowBucket, atomic on the server.
# KEYS[1]: the route's hash: counters, plus per entry in the window 'a:<id>' (its amount: the
# reservation, then the usage) and 'p:<id>' (its reservation, while unsettled). KEYS[2]: the log,
# entry ids scored by reservation time. ARGV: op (peek | wait | reserve | settle), now, window in
# seconds, tokens per window, requests per window (0: no request quota), tokens (wait, reserve),
# entry id (settle), used (settle), TTL in ms.
# Returns {entry id (reserve; 0: refused), tokens in the window, requests in the window,
# outstanding, unsettled reservations, wait in seconds (wait; -1: never)}; numbers as strings
# (Redis would truncate Lua floats to integers).
_WINDOW = """
local function num(x) return string.format('%.17g', x) end
local op, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local tpm, rpm, tokens = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'now', 'sum', 'requests', 'outstanding', 'reservations')
now = math.max(now, tonumber(h[1]) or now)
local sum, requests = tonumber(h[2]) or 0, tonumber(h[3]) or 0
local outstanding, reservations = tonumber(h[4]) or 0, tonumber(h[5]) or 0
local cutoff = num(now - window)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff)) do
  local e = redis.call('HMGET', KEYS[1], 'a:' .. id, 'p:' .. id)
  sum, requests = sum - (tonumber(e[1]) or 0), requests - 1
  if e[2] then
    outstanding, reservations = outstanding - tonumber(e[2]), reservations - 1
  end
  redis.call('HDEL', KEYS[1], 'a:' .. id, 'p:' .. id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
if requests <= 0 then sum, requests, outstanding, reservations = 0, 0, 0, 0 end
local id, wait = 0, 0
if op == 'reserve' then
  if sum + tokens <= tpm and (rpm == 0 or requests + 1 <= rpm) then
    id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('ZADD', KEYS[2], num(now), id)
    redis.call('HSET', KEYS[1], 'a:' .. id, num(tokens), 'p:' .. id, num(tokens))
    sum, requests = sum + tokens, requests + 1
    outstanding, reservations = outstanding + tokens, reservations + 1
  end
elseif op == 'settle' then
  local e = redis.call('HMGET', KEYS[1], 'a:' .. ARGV[7], 'p:' .. ARGV[7])
  if e[2] then
    local used = tonumber(ARGV[8])
    sum = sum + used - tonumber(e[1])
    outstanding, reservations = outstanding - tonumber(e[2]), reservations - 1
    redis.call('HSET', KEYS[1], 'a:' .. ARGV[7], num(used))
    redis.call('HDEL', KEYS[1], 'p:' .. ARGV[7])
  end
elseif op == 'wait' then
  local need, need_requests = sum + tokens - tpm, 0
  if rpm > 0 then need_requests = requests + 1 - rpm end
  if need > 0 or need_requests > 0 then
    wait = -1
    local freed, log = 0, redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = 1, #log, 2 do
      freed = freed + (tonumber(redis.call('HGET', KEYS[1], 'a:' .. log[i])) or 0)
      if freed >= need - 1e-9 * tpm and (i + 1) / 2 >= need_requests then
        wait = math.max(0, tonumber(log[i + 1]) + window - now)
        break
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'now', num(now), 'sum', num(sum), 'requests', requests,
  'outstanding', num(outstanding), 'reservations', reservations)
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return {id, num(sum), tostring(requests), num(outstanding), tostring(reservations), num(wait)}
"""


class _Window(NamedTuple):
    entry: int  # reserve: the entry's id on Redis, 0 when refused
    tokens: float  # in the window
    requests: int
    outstanding: float
    reservations: int
    wait: float  # wait: seconds, inf when never


class RedisWindowBucket:
    """The admission window shared by the fleet (the :class:`WindowBucket` interface and
    semantics): any 60-second window admits at most the quota, whichever workers admitted it.

    Reservations are remembered by the process that took them (a reservation is settled by the
    worker that made the call); one taken on Redis and settled while Redis is out keeps its
    reserved amount until it leaves the window (the fleet under-admits a little, never
    over-admits). Keys: ``<prefix>bucket:{<route>}`` and ``<prefix>bucket:{<route>}:log`` (one
    hash slot)."""

    def __init__(
        self,
        link: RedisLink,
        route: str,
        tokens_per_minute: float,
        *,
        requests_per_minute: float | None = None,
        clock: Clock = WALL_CLOCK,
    ) -> None:
        self._link = link
        tag = "{" + route + "}"
        self._keys = [link.key("bucket", tag), link.key("bucket", tag, "log")]
        self._local = WindowBucket(
            tokens_per_minute, requests_per_minute=requests_per_minute, clock=clock
        )
        self.tokens_per_minute = self._local.tokens_per_minute
        self.requests_per_minute = self._local.requests_per_minute
        self.capacity = self._local.capacity
        self._clock = clock
        self._script = link.client.register_script(_WINDOW)
        self._ids = itertools.count(1)
        self._outstanding: dict[int, Reservation | int] = {}  # local state's, or the Redis id
        self._lock = threading.Lock()

    @property
    def rate_per_second(self) -> float:
        return self.tokens_per_minute / WINDOW_S

    def _eval(
        self, op: str, tokens: float = 0.0, entry: int = 0, used: float = 0.0
    ) -> _Window | _Local:
        def run(r: redis.Redis) -> _Window | _Local:
            args = [op, repr(self._clock.now()), repr(WINDOW_S), repr(self.tokens_per_minute)]
            args += [repr(self.requests_per_minute or 0.0), repr(float(tokens)), str(entry)]
            args += [repr(float(used)), str(self._link.key_ttl_ms)]
            got = self._script(keys=self._keys, args=args, client=r)
            wait = float(got[5])
            return _Window(
                int(got[0]),
                float(got[1]),
                int(got[2]),
                float(got[3]),
                int(got[4]),
                math.inf if wait < 0 else wait,
            )

        return self._link.run("admission", run, lambda: _LOCAL)

    def _remember(self, held: Reservation | int, tokens: float) -> Reservation:
        with self._lock:
            reservation = Reservation(next(self._ids), float(tokens), self._clock.now())
            self._outstanding[reservation.id] = held
        return reservation

    def available(self) -> float:
        result = self._eval("peek")
        if isinstance(result, _Local):
            return self._local.available()
        return self.tokens_per_minute - result.tokens

    def try_reserve(self, tokens: float) -> Reservation | None:
        if tokens < 0 or math.isnan(tokens):
            raise ValueError(f"token counts must not be negative (got {tokens:g})")
        result = self._eval("reserve", tokens)
        if isinstance(result, _Local):
            held = self._local.try_reserve(tokens)
            return None if held is None else self._remember(held, tokens)
        return self._remember(result.entry, tokens) if result.entry else None

    def wait_time(self, tokens: float) -> float:
        if tokens < 0 or math.isnan(tokens):
            raise ValueError(f"token counts must not be negative (got {tokens:g})")
        if tokens > self.tokens_per_minute or (self.requests_per_minute or 1) < 1:
            return math.inf
        result = self._eval("wait", tokens)
        return self._local.wait_time(tokens) if isinstance(result, _Local) else result.wait

    def settle(self, reservation: Reservation, used_tokens: float) -> float:
        if used_tokens < 0 or math.isnan(used_tokens):
            raise ValueError(f"token counts must not be negative (got {used_tokens:g})")
        with self._lock:
            if reservation.id not in self._outstanding:
                raise ValueError(f"reservation {reservation.id} is unknown or already settled")
            held = self._outstanding.pop(reservation.id)
        if isinstance(held, Reservation):  # taken on local state
            return self._local.settle(held, used_tokens)
        result = self._eval("settle", entry=held, used=used_tokens)
        return 0.0 if isinstance(result, _Local) else reservation.tokens - used_tokens

    def state(self) -> BucketState:
        result = self._eval("peek")
        if isinstance(result, _Local):
            return self._local.state()
        return BucketState(
            level=self.tokens_per_minute - result.tokens,
            capacity=self.capacity,
            tokens_per_minute=self.tokens_per_minute,
            outstanding=result.outstanding,
            reservations=result.reservations,
            requests=result.requests,
            requests_per_minute=self.requests_per_minute,
        )


# --- retry budget ---------------------------------------------------------------------------

# KEYS[1]: the balance. ARGV: op (deposit | spend), ratio, initial, cap, TTL in ms.
_BUDGET = """
local balance = tonumber(redis.call('GET', KEYS[1])) or tonumber(ARGV[3])
local ok = 1
if ARGV[1] == 'deposit' then
  balance = math.min(tonumber(ARGV[4]), balance + tonumber(ARGV[2]))
elseif balance >= 1 - 1e-9 then
  balance = balance - 1
else
  ok = 0
end
redis.call('SET', KEYS[1], string.format('%.17g', balance), 'PX', ARGV[5])
return {ok, string.format('%.17g', balance)}
"""


class RedisRetryBudget(RetryBudget):
    """The retry budget with one balance for the fleet: retries stay at most ``ratio`` of the
    fleet's calls, however the calls spread over workers."""

    def __init__(
        self, link: RedisLink, ratio: float, initial: float = 10.0, cap: float = 100.0
    ) -> None:
        super().__init__(ratio, initial, cap)
        self.link = link
        self._key = link.key("retry_budget")
        self._initial = min(initial, cap)
        self._script = link.client.register_script(_BUDGET)
        self._shared_balance: float | None = None

    def _eval(self, op: str) -> tuple[bool, float] | _Local:
        def run(r: redis.Redis) -> tuple[bool, float] | _Local:
            args = [op, repr(self.ratio), repr(self._initial), repr(self._cap)]
            ok, balance = self._script(
                keys=[self._key], args=[*args, str(self.link.key_ttl_ms)], client=r
            )
            return bool(ok), float(balance)

        return self.link.run("retry_budget", run, lambda: _LOCAL)

    @property
    def balance(self) -> float:
        return self._shared_balance if self._shared_balance is not None else self._balance

    def on_call(self) -> None:
        result = self._eval("deposit")
        if isinstance(result, _Local):
            self._shared_balance = None
            super().on_call()
        else:
            self._shared_balance = result[1]

    def try_spend(self) -> bool:
        result = self._eval("spend")
        if isinstance(result, _Local):
            self._shared_balance = None
            return super().try_spend()
        self._shared_balance = result[1]
        if not result[0]:
            with self._lock:
                self.denied += 1
        return result[0]


# --- the whole backend ----------------------------------------------------------------------


class RedisState:
    """Everything ``resilience.state: {backend: redis}`` builds for one gateway."""

    def __init__(self, link: RedisLink, config: StateConfig, clock: Clock = WALL_CLOCK) -> None:
        self.link = link
        self.clock = clock
        self.breaker_store = RedisBreakerStore(link, clock, config.probe_ttl_s)

    @classmethod
    def from_config(
        cls,
        config: StateConfig,
        *,
        clock: Clock | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> RedisState:
        link = RedisLink.from_config(config, meter_provider=meter_provider)
        return cls(link, config, clock or WALL_CLOCK)

    def bucket(
        self, route: str, tokens_per_minute: float, *, requests_per_minute: float | None = None
    ) -> RedisWindowBucket:
        return RedisWindowBucket(
            self.link,
            route,
            tokens_per_minute,
            requests_per_minute=requests_per_minute,
            clock=self.clock,
        )

    def retry_budget(self, ratio: float) -> RedisRetryBudget:
        return RedisRetryBudget(self.link, ratio)
