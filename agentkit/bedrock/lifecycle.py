"""Model lifecycle (ACTIVE, LEGACY, end of life) per route: the shipped data, a pinned file, or
``ListFoundationModels`` live.

A fallback route is the one nobody uses until the incident, so its model is the one most likely
to have gone LEGACY (and locked out an account that has not used it for 30 days) or past its end
of life. ``agentkit routes check`` and ``agentkit doctor`` read a route's lifecycle from here.

Data: ``agentkit/data/model-lifecycle-v1.json`` (each model's status, legacy, public
extended-access and end-of-life dates, each with its sources and the date read; a date no public
source gave is null). A team pins what it verified with a file of the same shape
(``--lifecycle FILE``). With AWS credentials, :func:`fetch_live` reads ``modelLifecycle`` from
the Bedrock control plane's ``ListFoundationModels`` and :func:`LifecycleTable.overlay` puts it
over the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from agentkit.capacity.burndown import base_model_id
from agentkit.config import Route
from agentkit.errors import InputError

DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "model-lifecycle-v1.json"
DEFAULT_WARN_DAYS = 30
STATUSES = ("ACTIVE", "LEGACY", "EOL")
LIVE_SOURCE = "ListFoundationModels (modelLifecycle)"

Verdict = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class ModelLifecycle:
    """One model's lifecycle as a source gave it; ``None`` is unknown, never "no such date"."""

    model_id: str
    status: str | None  # ACTIVE, LEGACY or EOL as the source said it; None: unknown
    legacy: date | None = None
    public_extended_access: date | None = None
    end_of_life: date | None = None
    source: str = ""  # the sources, one line
    read: str = ""  # when the source was read

    def status_on(self, today: date) -> str:
        """The status on ``today``: EOL once the end-of-life date has passed, LEGACY once the
        legacy date has, else what the source said (UNKNOWN when it said nothing)."""
        if self.end_of_life is not None and today >= self.end_of_life:
            return "EOL"
        if self.status == "EOL":
            return "EOL"
        if self.status == "LEGACY" or (self.legacy is not None and today >= self.legacy):
            return "LEGACY"
        return self.status or "UNKNOWN"

    def days_to_end_of_life(self, today: date) -> int | None:
        return None if self.end_of_life is None else (self.end_of_life - today).days


@dataclass(frozen=True)
class LifecycleTable:
    models: Mapping[str, ModelLifecycle]
    origin: str  # the file it came from, or "ListFoundationModels ..." over a file

    def lookup(self, model_id: str) -> ModelLifecycle | None:
        """The entry for a model or profile ID (``us.anthropic.X`` -> ``anthropic.X``)."""
        return self.models.get(base_model_id(model_id))

    def overlay(self, live: Mapping[str, ModelLifecycle]) -> LifecycleTable:
        """This table with ``live`` entries in place of the file's (a model the live answer
        lacks, such as one past its end of life, keeps the file's entry)."""
        if not live:
            return self
        return LifecycleTable({**self.models, **live}, f"{LIVE_SOURCE} over {self.origin}")


# --- reading the data file -----------------------------------------------------------------------


def load_table(path: Path | None = None) -> LifecycleTable:
    """The shipped data, or ``path`` (a file of the same shape) instead of it."""
    source = path or DATA_PATH
    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{source}: no such lifecycle file; pass an existing --lifecycle FILE"
        ) from None
    except (OSError, UnicodeError) as error:
        raise InputError(f"{source}: cannot read the lifecycle file: {error}") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"{source}:{error.lineno}: not valid JSON ({error.msg}); "
            "fix the lifecycle file (its shape: agentkit/data/model-lifecycle-v1.json)"
        ) from None
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict):
        raise InputError(
            f"{source}: expected an object with a 'models' mapping of model ID to lifecycle "
            "(see agentkit/data/model-lifecycle-v1.json)"
        )
    read = str(doc.get("read", ""))
    return LifecycleTable(
        {model_id: _entry(source, model_id, raw, read) for model_id, raw in models.items()},
        str(source),
    )


def _entry(source: Path, model_id: str, raw: Any, read: str) -> ModelLifecycle:
    where = f"{source}: models.{model_id}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object with status and dates")
    status = raw.get("status")
    if status is not None and status not in STATUSES:
        raise InputError(f"{where}.status: {status!r}; use one of {', '.join(STATUSES)} or null")
    sources = raw.get("sources") or []
    return ModelLifecycle(
        model_id=model_id,
        status=status,
        legacy=_day(where, raw, "legacy"),
        public_extended_access=_day(where, raw, "public_extended_access"),
        end_of_life=_day(where, raw, "end_of_life"),
        source="; ".join(str(s.get("url", s)) if isinstance(s, dict) else str(s) for s in sources),
        read=str(raw.get("read", read)),
    )


def _day(where: str, raw: Mapping[str, Any], key: str) -> date | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(
            f"{where}.{key}: {value!r} is not a date; use YYYY-MM-DD or null"
        ) from None


# --- ListFoundationModels ------------------------------------------------------------------------


def from_foundation_models(
    summaries: Iterable[Mapping[str, Any]], read: date
) -> dict[str, ModelLifecycle]:
    """Entries from ``ListFoundationModels``' ``modelSummaries`` (``modelLifecycle``: status
    ACTIVE or LEGACY, ``legacyTime``, ``publicExtendedAccessTime``, ``endOfLifeTime``)."""
    found: dict[str, ModelLifecycle] = {}
    for summary in summaries:
        model_id = str(summary.get("modelId", ""))
        lifecycle = summary.get("modelLifecycle") or {}
        if not model_id or not lifecycle:
            continue
        status = lifecycle.get("status")
        found[model_id] = ModelLifecycle(
            model_id=model_id,
            status=status if status in STATUSES else None,
            legacy=_when(lifecycle.get("legacyTime")),
            public_extended_access=_when(lifecycle.get("publicExtendedAccessTime")),
            end_of_life=_when(lifecycle.get("endOfLifeTime")),
            source=LIVE_SOURCE,
            read=read.isoformat(),
        )
    return found


def _when(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def fetch_live(client: Any, read: date) -> dict[str, ModelLifecycle]:
    """Every foundation model's lifecycle in the client's Region (one call: the API returns
    them all, without paging)."""
    response = client.list_foundation_models()
    return from_foundation_models(response.get("modelSummaries", []), read)


def control_plane_client(region: str, *, connect_s: float = 2.0, read_s: float = 10.0) -> Any:
    """A ``bedrock`` (control plane) client: botocore retries off, short timeouts."""
    from botocore.config import Config

    from agentkit.bedrock.clients import shared_session

    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect_s,
        read_timeout=read_s,
    )
    return shared_session().client("bedrock", region_name=region, config=config)


# --- routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteLifecycle:
    """A route's model lifecycle and what ``routes check`` makes of it."""

    route: str
    model: str
    region: str
    base_model: str
    status: str  # ACTIVE, LEGACY, EOL, UNKNOWN (on the day checked)
    legacy: str | None
    public_extended_access: str | None
    end_of_life: str | None
    days_to_end_of_life: int | None
    verdict: Verdict
    message: str
    source: str = ""
    read: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_route(
    route: Route, table: LifecycleTable, today: date, warn_days: int = DEFAULT_WARN_DAYS
) -> RouteLifecycle:
    base = base_model_id(route.model)
    entry = table.lookup(route.model)
    if entry is None:
        entry = ModelLifecycle(model_id=base, status=None)
        verdict: Verdict = "warn"
        message = (
            f"{base} is not in the lifecycle data ({table.origin}); check it with "
            "ListFoundationModels and pin it with --lifecycle FILE"
        )
    else:
        verdict, message = _judge(entry, today, warn_days)
    days = entry.days_to_end_of_life(today)
    return RouteLifecycle(
        route=route.name,
        model=route.model,
        region=route.region,
        base_model=base,
        status=entry.status_on(today),
        legacy=_iso(entry.legacy),
        public_extended_access=_iso(entry.public_extended_access),
        end_of_life=_iso(entry.end_of_life),
        days_to_end_of_life=days,
        verdict=verdict,
        message=message,
        source=entry.source,
        read=entry.read,
    )


def _judge(entry: ModelLifecycle, today: date, warn_days: int) -> tuple[Verdict, str]:
    status = entry.status_on(today)
    days = entry.days_to_end_of_life(today)
    eol = entry.end_of_life
    if status == "EOL":
        since = f" since {eol.isoformat()}" if eol else " (date not known)"
        return "fail", f"past end of life{since}: route to its successor"
    if eol is not None and days is not None and days <= warn_days:
        return "fail", (
            f"reaches end of life on {eol.isoformat()}, in {days} day(s) "
            f"(within --warn-days {warn_days}): route to its successor"
        )
    if status == "LEGACY":
        when = f"end of life {eol.isoformat()}" if eol else "end-of-life date not known"
        return "warn", (
            f"LEGACY ({when}): an account that has not used it for 30 days is locked out, "
            "so a cold fallback may fail; plan its successor"
        )
    if status == "UNKNOWN":
        return "warn", "lifecycle not known: check it with ListFoundationModels"
    if eol is not None:
        return "ok", f"{status}, end of life {eol.isoformat()} in {days} days"
    return "ok", status


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass
class RoutesCheck:
    routes: list[RouteLifecycle] = field(default_factory=list)
    origin: str = ""
    today: str = ""
    warn_days: int = DEFAULT_WARN_DAYS

    @property
    def failed(self) -> list[RouteLifecycle]:
        return [r for r in self.routes if r.verdict == "fail"]

    @property
    def warned(self) -> list[RouteLifecycle]:
        return [r for r in self.routes if r.verdict == "warn"]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "today": self.today,
            "warn_days": self.warn_days,
            "lifecycle": self.origin,
            "routes": [r.to_json() for r in self.routes],
        }


def check_routes(
    routes: Sequence[Route],
    table: LifecycleTable,
    today: date,
    warn_days: int = DEFAULT_WARN_DAYS,
) -> RoutesCheck:
    return RoutesCheck(
        [check_route(r, table, today, warn_days) for r in routes],
        table.origin,
        today.isoformat(),
        warn_days,
    )


def describe(result: RouteLifecycle) -> str:
    """One cell for ``agentkit doctor``: ``ACTIVE``, ``LEGACY (EOL 2026-10-14, 20 days)``,
    ``EOL since 2026-10-14``, ``unknown``."""
    if result.status == "EOL":
        return f"EOL since {result.end_of_life}" if result.end_of_life else "EOL"
    if result.status == "UNKNOWN":
        return "unknown"
    if result.end_of_life is not None:
        return f"{result.status} (EOL {result.end_of_life}, {result.days_to_end_of_life} days)"
    return result.status
