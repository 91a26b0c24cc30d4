"""The FMEA engine: a deterministic worksheet from an architecture and a catalog.

Scoring is arithmetic and a table, never a model: RPN = S x O x D, and the AIAG-VDA action
priority (H must, M should, L may improve) from severity, occurrence and detection bands. Rows
are sorted by action priority, then severity, then RPN, then their stable id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from agentkit.fmea.model import Architecture, Catalog, FailureMode
from agentkit.regions import profile_geography

# AIAG-VDA action priority (domain.md 2.1). Rows: severity bands; columns: occurrence bands;
# each cell's letters are the detection bands 7-10 / 5-6 / 2-4 / 1.
AP_TABLE = {
    (9, 10): ("HHHH", "HHHH", "HHHM", "HMLL", "LLLL"),
    (7, 8): ("HHHH", "HHHM", "HMMM", "MMLL", "LLLL"),
    (4, 6): ("HHMM", "MMML", "MLLL", "LLLL", "LLLL"),
    (2, 3): ("MMLL", "LLLL", "LLLL", "LLLL", "LLLL"),
    (1, 1): ("LLLL", "LLLL", "LLLL", "LLLL", "LLLL"),
}
_O_BANDS = ((8, 10), (6, 7), (4, 5), (2, 3), (1, 1))
_D_BANDS = ((7, 10), (5, 6), (2, 4), (1, 1))
AP_RANK = {"H": 0, "M": 1, "L": 2}


def _band(value: int, bands: tuple[tuple[int, int], ...]) -> int:
    return next(i for i, (low, high) in enumerate(bands) if low <= value <= high)


def action_priority(s: int, o: int, d: int) -> str:
    severity = next(cells for (low, high), cells in AP_TABLE.items() if low <= s <= high)
    return severity[_band(o, _O_BANDS)][_band(d, _D_BANDS)]


@dataclass
class Row:
    id: str
    component: str
    kind: str
    line: int
    mode_id: str
    failure_mode: str
    effect: str
    cause: str
    seed_class: str
    agent_dimension: str
    resilience_hub_category: str
    prevention_control: str
    detection_control: str
    severity: int
    occurrence: int
    detection: int
    rpn: int
    action_priority: str
    recommended_actions: list[str]
    adjustments: list[str] = field(default_factory=list)
    proposed_by_model: bool = False
    owner: str = ""
    target_date: str = ""
    status: str = "open"
    action_taken: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _attribute(component: dict[str, Any], architecture: Architecture, path: str) -> Any:
    if path == "profile_scope":
        geography = profile_geography(str(component.get("profile", "")))
        return "global" if geography == "global" else ("geo" if geography else "none")
    if path == "global_with_residency":
        scope = _attribute(component, architecture, "profile_scope")
        return scope == "global" and bool(architecture.workload.get("residency"))
    value: Any = component
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value  # None when the file does not say: no modifier fires on silence


def _clamp(value: int) -> int:
    return max(1, min(10, value))


def _row(
    component: dict[str, Any],
    line: int,
    mode: FailureMode,
    architecture: Architecture,
    dependents: int,
    proposed: bool = False,
) -> Row:
    ratings = {"s": mode.s, "o": mode.o, "d": mode.d}
    notes: list[str] = []
    for modifier in mode.modifiers:
        if _attribute(component, architecture, modifier.when) == modifier.is_:
            ratings[modifier.rating] = _clamp(ratings[modifier.rating] + modifier.delta)
            notes.append(f"{modifier.rating.upper()} {modifier.delta:+d}: {modifier.reason}")
    if dependents >= 2:
        ratings["s"] = _clamp(ratings["s"] + 1)
        notes.append(f"S +1: {dependents} components depend on {component['id']}")
    s, o, d = ratings["s"], ratings["o"], ratings["d"]
    digest = hashlib.sha256(f"{component['id']}/{mode.id}".encode()).hexdigest()[:10]
    return Row(
        id=f"FM-{digest}",
        component=component["id"],
        kind=component["kind"],
        line=line,
        mode_id=mode.id,
        failure_mode=mode.mode,
        effect=mode.effect,
        cause=mode.cause,
        seed_class=mode.class_,
        agent_dimension=mode.dimension,
        resilience_hub_category=mode.hub_category,
        prevention_control=mode.prevention,
        detection_control=mode.detection,
        severity=s,
        occurrence=o,
        detection=d,
        rpn=s * o * d,
        action_priority=action_priority(s, o, d),
        recommended_actions=list(mode.actions),
        adjustments=notes,
        proposed_by_model=proposed,
    )


def dependents(architecture: Architecture) -> dict[str, int]:
    """How many components depend on each one, directly or through others.

    Each component's set of (transitive) dependents is a bitset built once, from the components
    nothing depends on inwards, so 10,000 components take milliseconds, not minutes."""
    ids = [c["id"] for c in architecture.components]
    bit = {cid: 1 << i for i, cid in enumerate(ids)}
    depends_on = {c["id"]: list(c.get("depends_on", [])) for c in architecture.components}
    users: dict[str, list[str]] = {cid: [] for cid in ids}  # id -> components that depend on it
    for cid, targets in depends_on.items():
        for target in targets:
            users[target].append(cid)
    pending = {cid: len(found) for cid, found in users.items()}
    ready = [cid for cid, count in pending.items() if count == 0]
    upstream: dict[str, int] = {}
    while ready:
        cid = ready.pop()
        upstream[cid] = 0
        for user in users[cid]:
            upstream[cid] |= bit[user] | upstream[user]
        for target in depends_on[cid]:
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    return {cid: upstream[cid].bit_count() for cid in ids}


def single_points_of_failure(
    architecture: Architecture, catalog: Catalog, counts: dict[str, int]
) -> list[str]:
    """Zonal components others depend on, with no Multi-AZ and at most one Region."""
    regions = architecture.data.get("regions", [])
    out = []
    for component in architecture.components:
        in_regions = component.get("regions", regions)
        if (
            component["kind"] in catalog.zonal_kinds
            and counts.get(component["id"], 0) > 0
            and not component.get("multi_az")
            and len(in_regions) <= 1
        ):
            out.append(component["id"])
    return out


def worksheet(
    architecture: Architecture,
    catalog: Catalog,
    proposals: list[tuple[str, FailureMode]] | None = None,
) -> list[Row]:
    counts = dependents(architecture)
    spofs = set(single_points_of_failure(architecture, catalog, counts))
    spof_mode = catalog.derived.get("spof")
    lines = {c["id"]: architecture.line_of(i) for i, c in enumerate(architecture.components)}
    rows = []
    for component in architecture.components:
        cid = component["id"]
        modes = list(catalog.kinds[component["kind"]])
        if cid in spofs and spof_mode is not None:
            modes.append(spof_mode)
        rows += [_row(component, lines[cid], mode, architecture, counts[cid]) for mode in modes]
    by_id = {c["id"]: c for c in architecture.components}
    for cid, mode in proposals or []:
        if cid in by_id:
            rows.append(
                _row(by_id[cid], lines[cid], mode, architecture, counts[cid], proposed=True)
            )
    return sorted(rows, key=lambda r: (AP_RANK[r.action_priority], -r.severity, -r.rpn, r.id))


def gate_failures(
    rows: list[Row],
    fail_on: str,
    baseline: dict[str, Any] | None = None,
    gate_on_proposed: bool = False,
) -> list[Row]:
    """Rows at or above ``fail_on`` that fail the gate: with a baseline, only new or worse ones."""
    threshold = AP_RANK[fail_on]
    old = {r["id"]: r for r in (baseline or {}).get("rows", [])}
    failing = []
    for row in rows:
        if AP_RANK[row.action_priority] > threshold or (
            row.proposed_by_model and not gate_on_proposed
        ):
            continue
        before = old.get(row.id)
        if baseline is not None and before is not None:
            worse = (
                AP_RANK[row.action_priority] < AP_RANK[before["action_priority"]]
                or row.rpn > before["rpn"]
            )
            if not worse:
                continue
        failing.append(row)
    return failing


def summary(rows: list[Row], spofs: list[str]) -> dict[str, Any]:
    counts = Counter(r.action_priority for r in rows)
    return {
        "rows": len(rows),
        "action_priority": {"H": counts["H"], "M": counts["M"], "L": counts["L"]},
        "max_rpn": max((r.rpn for r in rows), default=0),
        "single_points_of_failure": spofs,
        "proposed_by_model": sum(1 for r in rows if r.proposed_by_model),
    }
