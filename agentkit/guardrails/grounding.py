"""Grounding: the strategies, numbers, Regions and services an answer states must come from the
tool results it was written from. A claim that does not is reported as unsupported.

Citations too: a source marker such as ``[S2]`` must name a passage a knowledge search returned
(an item with that ``id`` and a ``citation``), and a URI on the same line as one marker must be
that passage's location (or appear in its text)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

STRATEGIES = {
    "backup_restore": (
        "backup and restore",
        "backup & restore",
        "backup/restore",
        "backup-restore",
    ),
    "pilot_light": ("pilot light", "pilot-light"),
    "warm_standby": ("warm standby", "warm-standby"),
    "multi_site_active_active": ("active/active", "active-active", "multi-site", "multi site"),
}
SERVICES = (
    "aurora global database",
    "dynamodb global tables",
    "global tables",
    "cross-region replication",
    "replication time control",
    "route 53 arc",
    "application recovery controller",
    "region switch",
    "routing control",
    "aws backup",
    "elastic disaster recovery",
    "global datastore",
    "read replica",
    "on-demand capacity reservation",
    "mrsc",
    "mrec",
    "s3 crr",
)
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?|"
    r"days?|%|percent)(?![\w])",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[(S\d+)\]")
_URI = re.compile(r"\b(?:s3|https?)://[^\s,)\]]+")
_REGION = re.compile(r"\b(?:us-gov|us|eu|ap|ca|sa|me|af|il|mx|cn|eusc)-[a-z]+-\d\b")
_SECONDS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "s": 1,
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "day": 86400,
}


@dataclass(frozen=True)
class GroundingVerdict:
    grounded: bool
    unsupported: tuple[str, ...]


def _numbers(value: Any) -> set[float]:
    found: set[float] = set()
    if isinstance(value, bool):
        return found
    if isinstance(value, int | float):
        found.add(float(value))
    elif isinstance(value, str):
        found.update(float(n) for n in re.findall(r"\d+(?:\.\d+)?", value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= _numbers(item) | _numbers(key)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _numbers(item)
    return found


def _unit_seconds(unit: str) -> float | None:
    unit = unit.lower().rstrip("s") or "s"
    if unit in ("%", "percent"):
        return None
    return _SECONDS.get(unit, _SECONDS.get(unit + "s"))


def _number_supported(value: float, unit: str, known: set[float]) -> bool:
    if value in known:
        return True
    seconds = _unit_seconds(unit)
    if seconds is None:
        return False
    in_seconds = value * seconds
    return any(abs(in_seconds - k * scale) < 1e-6 for k in known for scale in (1, 60, 3600, 86400))


def check_grounding(answer: str, tool_results: Any) -> GroundingVerdict:
    blob = json.dumps(tool_results, default=str).lower().replace("_", " ")
    raw_blob = json.dumps(tool_results, default=str).lower()
    known = _numbers(tool_results)
    lowered = answer.lower()
    unsupported: list[str] = []
    for key, forms in STRATEGIES.items():
        if (
            any(form in lowered for form in forms)
            and key not in raw_blob
            and not any(form in blob for form in forms)
        ):
            unsupported.append(f"strategy {forms[0]}")
    unsupported += [f"service {s}" for s in SERVICES if s in lowered and s not in blob]
    unsupported += [
        f"Region {r}" for r in sorted(set(_REGION.findall(lowered))) if r not in raw_blob
    ]
    for match in _NUMBER.finditer(answer):
        if not _number_supported(float(match.group(1)), match.group(2), known):
            unsupported.append(f"number {match.group(0)}")
    unsupported += check_citations(answer, tool_results)
    return GroundingVerdict(not unsupported, tuple(unsupported))


def _passages(
    value: Any, found: dict[str, tuple[str, str]], depth: int = 0
) -> dict[str, tuple[str, str]]:
    """Retrieved passages in ``value``: id -> (cited URI, text)."""
    if depth > 32:
        return found
    if isinstance(value, dict):
        citation = value.get("citation")
        if isinstance(value.get("id"), str) and isinstance(citation, dict):
            found[value["id"]] = (str(citation.get("uri", "")), str(value.get("text", "")))
        for item in value.values():
            _passages(item, found, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _passages(item, found, depth + 1)
    return found


def check_citations(answer: str, tool_results: Any) -> list[str]:
    """Citation markers that name no retrieved passage, and URIs cited for the wrong one."""
    if "[S" not in answer:
        return []
    passages = _passages(tool_results, {})
    unsupported: list[str] = []
    for line in answer.splitlines():
        markers = _CITATION.findall(line)
        unsupported += [f"citation [{m}]" for m in markers if m not in passages]
        if len(markers) == 1 and markers[0] in passages:
            uri, text = passages[markers[0]]
            unsupported += [
                f"source {found} for [{markers[0]}]"
                for found in _URI.findall(line)
                if found != uri and found not in text
            ]
    return list(dict.fromkeys(unsupported))
