"""Where the control document lives: a JSON file (one host), a Redis hash (a fleet) or an AWS
AppConfig configuration profile (a fleet on AWS: :mod:`agentkit.ops.appconfig`).

All keep the same flat ``KEY=VALUE`` fields (:mod:`agentkit.ops.document`) and who changed them
last, when. A change is one atomic step: the file under an advisory lock, then written to a
temporary sibling and renamed; the Redis hash in one ``MULTI`` transaction. Every change appends
one JSON line to the audit file (and, on Redis, to a list the fleet shares): who, what, when.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from agentkit.errors import ConfigError
from agentkit.fsutil import atomic_write
from agentkit.ops.changes import (
    Change,
    OpsUnavailable,
    append_audit,
    apply,
    change,
    operator,
    parse_document,
    render_document,
)
from agentkit.ops.document import KILL_SWITCH, Overrides

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig

__all__ = [  # the changes' names stay importable from here
    "Change",
    "FileStore",
    "OpsStore",
    "OpsUnavailable",
    "RedisStore",
    "apply",
    "change",
    "open_store",
    "operator",
    "reread_s",
]

DOCUMENT_NAME, AUDIT_NAME = "ops.json", "ops-audit.jsonl"
_META_BY, _META_AT = "_by", "_at"  # Redis hash fields of the last change (not overrides)


class OpsStore(Protocol):
    where: str  # for messages and the audit: the file, or the Redis URL (no password) and key

    def read(self) -> Overrides: ...

    def update(self, change: Change) -> Overrides: ...

    def close(self) -> None: ...


class FileStore:
    """The document as a JSON file: ``{"overrides": {...}, "by": ..., "at": ...}``."""

    def __init__(self, path: Path, audit: Path) -> None:
        self.path = path
        self.audit = audit
        self.where = str(path)

    def read(self) -> Overrides:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Overrides()
        except OSError as error:
            raise OpsUnavailable(f"{self.path}: cannot read the ops document: {error}") from None
        return parse_document(text, self.where)

    def update(self, change: Change) -> Overrides:
        with self._locked():
            try:
                current = self.read().fields()
            except OpsUnavailable:
                if change.cleared is not None:
                    raise
                current = {}  # a clear of everything may replace a broken document
            fields = apply(current, change)
            atomic_write(self.path, render_document(fields, change))
            append_audit(self.audit, change.audit_line(self.where))
        return Overrides.from_fields(fields, {"by": change.by, "at": change.at})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(f".{self.path.name}.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        return None


class RedisStore:
    """The document as one Redis hash, ``<prefix>ops``; the audit also in ``<prefix>ops:audit``."""

    def __init__(self, client: Any, prefix: str, audit: Path, url: str) -> None:
        self.client = client
        self.key = f"{prefix}ops"
        self.audit_key = f"{prefix}ops:audit"
        self.audit = audit
        self.where = f"{_without_password(url)} {self.key}"

    def read(self) -> Overrides:
        import redis

        try:
            raw = self.client.hgetall(self.key)
        except redis.RedisError as error:
            raise OpsUnavailable(f"{self.where}: cannot read the ops document: {error}") from None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        meta = {"by": fields.pop(_META_BY, ""), "at": fields.pop(_META_AT, "")}
        return Overrides.from_fields(fields, meta)

    def update(self, change: Change) -> Overrides:
        import redis

        line = change.audit_line(self.where)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                if change.cleared is None:
                    pipe.delete(self.key)
                elif change.cleared:
                    pipe.hdel(self.key, *change.cleared)
                for key, value in change.set.items():
                    if key == KILL_SWITCH and value == "off":
                        pipe.hdel(self.key, key)
                    else:
                        pipe.hset(self.key, key, value)
                pipe.hset(self.key, mapping={_META_BY: change.by, _META_AT: change.at})
                pipe.rpush(self.audit_key, line)
                pipe.execute()
        except redis.RedisError as error:
            raise OpsUnavailable(f"{self.where}: the change was not made: {error}") from None
        append_audit(self.audit, line)
        return self.read()

    def close(self) -> None:
        self.client.close()


def reread_s(config: AgentkitConfig) -> float:
    """How often a worker re-reads the document: ``ops.poll_s``, or with AppConfig at least its
    shortest poll interval (a change also waits for its deployment)."""
    ops = config.ops
    if ops.backend == "appconfig":
        from agentkit.ops.appconfig import MIN_POLL_S

        return float(max(MIN_POLL_S, math.ceil(ops.poll_s)))
    return ops.poll_s


def open_store(config: AgentkitConfig) -> OpsStore:
    """The store ``ops:`` in agentkit.yaml names (the file backend by default)."""
    from agentkit.paths import agentkit_home

    ops = config.ops
    home = Path(agentkit_home())
    if ops.backend == "file":
        path = Path(ops.path).expanduser() if ops.path else home / DOCUMENT_NAME
        audit = Path(ops.audit).expanduser() if ops.audit else path.with_name(AUDIT_NAME)
        return FileStore(path, audit)
    if ops.backend == "appconfig":
        from agentkit.ops.appconfig import open_appconfig

        assert ops.appconfig is not None  # OpsConfig checks it
        audit = Path(ops.audit).expanduser() if ops.audit else home / AUDIT_NAME
        return open_appconfig(ops.appconfig, audit, poll_s=ops.poll_s)
    from agentkit.config import optional_module

    redis = optional_module("redis", "ops.backend")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    url = ops.url or config.resilience.state.url
    prefix = ops.prefix or config.resilience.state.prefix
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=ops.socket_timeout_s,
            socket_connect_timeout=ops.socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
    except ValueError as error:
        raise ConfigError(f"ops.url: {error}") from None
    audit = Path(ops.audit).expanduser() if ops.audit else home / AUDIT_NAME
    return RedisStore(client, prefix, audit, url)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
