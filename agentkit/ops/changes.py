"""A change to the control document, its audit line, and the document as stored JSON.

Every backend (:mod:`agentkit.ops.store`, :mod:`agentkit.ops.appconfig`) makes a change the same
way: :func:`apply` it to the fields, store the result, append :meth:`Change.audit_line`.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentkit.errors import AgentkitError
from agentkit.ops.document import KILL_SWITCH, Overrides


class OpsUnavailable(AgentkitError):
    """The control document could not be read or written (Redis down, a file not readable)."""


@dataclass(frozen=True)
class Change:
    """One ``ops set`` or ``ops clear``: the fields set, the keys cleared (None: all)."""

    by: str
    at: str
    set: Mapping[str, str]
    cleared: tuple[str, ...] | None = ()

    def audit_line(self, where: str) -> str:
        action = "set" if self.set else "clear"
        record: dict[str, Any] = {"at": self.at, "by": self.by, "action": action, "where": where}
        if self.set:
            record["set"] = dict(self.set)
        if self.cleared is None or self.cleared:
            record["cleared"] = "all" if self.cleared is None else list(self.cleared)
        return json.dumps(record, sort_keys=True)


def change(
    set_fields: Mapping[str, str],
    cleared: Iterable[str] | None = (),
    *,
    by: str | None = None,
    now: datetime | None = None,
) -> Change:
    """A change made by ``by`` (default: the OS user) at ``now`` (default: the time, UTC)."""
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Change(
        by=by or operator(),
        at=at,
        set=dict(set_fields),
        cleared=None if cleared is None else tuple(cleared),
    )


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid:{os.getuid()}"


def apply(fields: Mapping[str, str], change: Change) -> dict[str, str]:
    """The document's fields after ``change`` (``kill_switch=off`` removes the switch)."""
    result = {} if change.cleared is None else dict(fields)
    for key in change.cleared or ():
        result.pop(key, None)
    for key, value in change.set.items():
        if key == KILL_SWITCH and value == "off":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def parse_document(text: str, where: str) -> Overrides:
    """A stored document: ``{"overrides": {...}, "by": ..., "at": ...}`` (the file and AppConfig
    backends keep this JSON)."""
    try:
        data = json.loads(text)
        fields = {str(k): str(v) for k, v in dict(data.get("overrides") or {}).items()}
    except (ValueError, TypeError, AttributeError):
        raise OpsUnavailable(
            f"{where}: not an ops document (JSON with an overrides object); "
            "`agentkit ops clear` rewrites it"
        ) from None
    return Overrides.from_fields(
        fields, {"by": str(data.get("by") or ""), "at": str(data.get("at") or "")}
    )


def render_document(fields: Mapping[str, str], change: Change) -> str:
    document = {"overrides": dict(fields), "by": change.by, "at": change.at}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def append_audit(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
