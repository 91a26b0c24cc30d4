"""The FMEA engine: a deterministic worksheet from an architecture and a catalogue.

Scoring is arithmetic and a table, never a model: RPN = S x O x D, and the AIAG-VDA action
priority (H must, M should, L may improve) from severity, occurrence and detection bands.

Each row is rated twice: first as the catalogue and the topology give it (its defaults, modifiers
and the number of dependents), then revised by the controls the component lists (the catalogue's
``lowers`` rules; controls lower O or D, never S). The gate reads the revised columns. Rows are
sorted by revised action priority, then severity, then revised RPN, then their stable id.

A mode appears only where the topology makes it possible (``applies``) and no listed control
removes its cause (``ruled_out_by``). A shared cause appears once: every single-Region component's
Region loss is one row per Region, components sharing an AZ one row per AZ, and a zonal single
point of failure is said on its AZ-loss row rather than counted again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.fmea import topology as topo
from agentkit.fmea.model import Architecture, Catalog, FailureMode, controls_of
from agentkit.fmea.topology import Topology
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
_MAX_LISTED = 12  # components named in a shared-cause row before "and N more"


def _band(value: int, bands: tuple[tuple[int, int], ...]) -> int:
    return next(i for i, (low, high) in enumerate(bands) if low <= value <= high)


def _lookup(s: int, o: int, d: int) -> str:
    severity = next(cells for (low, high), cells in AP_TABLE.items() if low <= s <= high)
    return severity[_band(o, _O_BANDS)][_band(d, _D_BANDS)]


_RATINGS = range(1, 11)
_AP = {(s, o, d): _lookup(s, o, d) for s in _RATINGS for o in _RATINGS for d in _RATINGS}


def action_priority(s: int, o: int, d: int) -> str:
    return _AP[(s, o, d)]


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
    item: str = ""
    function: str = ""
    affects: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)  # listed controls that lowered this row
    evidence: list[str] = field(default_factory=list)  # the tests or drills that prove them
    revised_severity: int = 0
    revised_occurrence: int = 0
    revised_detection: int = 0
    revised_rpn: int = 0
    revised_action_priority: str = ""
    revisions: list[str] = field(default_factory=list)
    rating_basis: str = ""

    def to_json(self) -> dict[str, Any]:
        """The row as a dict, in field order. Shallow: its lists are the row's own, so 25,000 rows
        convert in milliseconds (a deep copy took seconds); treat them as read-only."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RuledOut:
    component: str
    mode_id: str
    control: str


@dataclass
class Worksheet:
    rows: list[Row]
    ruled_out: list[RuledOut]
    spofs: list[str]


def _attribute(component: dict[str, Any], architecture: Architecture, path: str) -> Any:
    if path == "profile_scope":
        geography = profile_geography(topo.model_id(component))
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


def _row_id(key: str) -> str:
    return "FM-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _row(
    component: dict[str, Any],
    line: int,
    mode: FailureMode,
    architecture: Architecture,
    dependents: int,
    proposed: bool = False,
    controls: dict[str, list[str]] | None = None,
    function: str = "",
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
    revised = dict(ratings)
    revisions: list[str] = []
    applied: list[str] = []
    evidence: list[str] = []
    for control, proof in (controls or {}).items():
        lowering = mode.lowering(control)
        for rating, delta in lowering:
            before = revised[rating]
            revised[rating] = _clamp(before + delta)
            if revised[rating] != before:
                revisions.append(f"{rating.upper()} {revised[rating] - before:+d}: {control}")
        if lowering:
            applied.append(control)
            evidence += proof
    rs, ro, rd = revised["s"], revised["o"], revised["d"]
    owner = str(component.get("owner") or architecture.workload.get("owner") or "")
    return Row(
        id=_row_id(f"{component['id']}/{mode.id}"),
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
        owner=owner,
        status="mitigated" if revisions else "open",
        action_taken="; ".join(applied),
        item=component["id"],
        function=function,
        affects=[component["id"]],
        controls=applied,
        evidence=evidence,
        revised_severity=rs,
        revised_occurrence=ro,
        revised_detection=rd,
        revised_rpn=rs * ro * rd,
        revised_action_priority=action_priority(rs, ro, rd),
        revisions=revisions,
        rating_basis=mode.why,
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


def _listing(ids: list[str]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge(key: str, item: str, mode_id: str, title: str, members: list[Row]) -> Row:
    """One row for a shared cause, holding every member's effect: worst S and O, best D."""
    first = members[0]
    if len(members) == 1:
        row = Row(**{**first.to_json(), "id": _row_id(key), "item": item})
        row.mode_id = mode_id
        return row
    s = max(r.severity for r in members)
    o = max(r.occurrence for r in members)
    d = min(r.detection for r in members)
    rs = max(r.revised_severity for r in members)
    ro = max(r.revised_occurrence for r in members)
    rd = min(r.revised_detection for r in members)
    by_effect: dict[str, list[str]] = {}
    for r in members:
        by_effect.setdefault(r.effect, []).append(r.component)
    effects = "; ".join(f"{effect} ({_listing(ids)})" for effect, ids in by_effect.items())
    return Row(
        id=_row_id(key),
        component=first.component,
        kind=first.kind,
        line=first.line,
        mode_id=mode_id,
        failure_mode=title,
        effect=effects,
        cause="; ".join(_unique([r.cause for r in members])),
        seed_class="shared_fate",
        agent_dimension=first.agent_dimension,
        resilience_hub_category=first.resilience_hub_category,
        prevention_control="; ".join(_unique([r.prevention_control for r in members])),
        detection_control="; ".join(_unique([r.detection_control for r in members])),
        severity=s,
        occurrence=o,
        detection=d,
        rpn=s * o * d,
        action_priority=action_priority(s, o, d),
        recommended_actions=_unique([a for r in members for a in r.recommended_actions]),
        adjustments=_unique(
            [note for r in members for note in r.adjustments if "depend on" not in note]
        ),
        owner="; ".join(_unique([r.owner for r in members if r.owner])),
        status="mitigated" if any(r.revisions for r in members) else "open",
        action_taken="; ".join(_unique([c for r in members for c in r.controls])),
        item=item,
        function="; ".join(_unique([r.function for r in members if r.function])),
        affects=[r.component for r in members],
        controls=_unique([c for r in members for c in r.controls]),
        evidence=_unique([e for r in members for e in r.evidence]),
        revised_severity=rs,
        revised_occurrence=ro,
        revised_detection=rd,
        revised_rpn=rs * ro * rd,
        revised_action_priority=action_priority(rs, ro, rd),
        revisions=_unique([note for r in members for note in r.revisions]),
        rating_basis="Shared cause: worst severity and occurrence, best detection of its members",
    )


@dataclass
class _Scoring:
    """The state of one scoring pass: rows so far, ruled-out modes, shared-cause members."""

    architecture: Architecture
    catalog: Catalog
    counts: dict[str, int]
    topology: Topology
    spofs: set[str]
    lines: dict[str, int]
    workload_controls: dict[str, list[str]]
    rows: list[Row] = field(default_factory=list)
    ruled_out: list[RuledOut] = field(default_factory=list)
    shared: dict[tuple[str, str], list[Row]] = field(default_factory=dict)
    _last: tuple[dict[str, Any] | None, dict[str, list[str]]] = (None, {})

    def controls(self, component: dict[str, Any]) -> dict[str, list[str]]:
        if component is not self._last[0]:
            self._last = (component, {**self.workload_controls, **controls_of(component)})
        return self._last[1]

    def make(self, component: dict[str, Any], mode: FailureMode) -> Row:
        cid = component["id"]
        controls = self.controls(component)
        kind = component["kind"]
        function = str(component.get("function") or self.catalog.functions.get(kind, ""))
        return _row(
            component,
            self.lines[cid],
            mode,
            self.architecture,
            self.counts[cid],
            False,
            controls,
            function,
        )

    def applicable(self, component: dict[str, Any], mode: FailureMode) -> bool:
        if not all(topo.holds(c, component, self.topology) for c in mode.applies):
            return False
        controls = self.controls(component)
        removed = next((c for c in mode.ruled_out_by if c in controls), None)
        if removed is not None:
            self.ruled_out.append(RuledOut(component["id"], mode.id, removed))
            return False
        return True

    def add(self, component: dict[str, Any]) -> None:
        own: list[Row] = []
        zonal: list[Row] = []
        regions = self.topology.regions_of(component)
        region = regions[0] if regions else ""
        for mode in self.catalog.kinds[component["kind"]]:
            if not self.applicable(component, mode):
                continue
            row = self.make(component, mode)
            if mode.shared_cause == "region":
                self.shared.setdefault(("region", region), []).append(row)
                continue
            if mode.shared_cause == "az":
                zonal.append(row)
                if component.get("az"):
                    place = f"{component['az']} ({region or 'Region not given'})"
                    self.shared.setdefault(("az", place), []).append(row)
                    continue
            own.append(row)
        if component["id"] in self.spofs:
            users = self.counts[component["id"]]
            for row in zonal:  # the AZ-loss row says it: the AZ event is not counted twice
                row.effect += f"; single point of failure: {users} component(s) depend on it"
            if not zonal and "spof" in self.catalog.derived:
                own.append(self.make(component, self.catalog.derived["spof"]))
        self.rows += own
        self.rows += _derived_rows(component, self.topology, self.catalog, own, self.make)

    def merge_shared(self) -> None:
        for (cause, place), members in self.shared.items():
            if cause == "region":
                name = f"Region {place or '(not given)'}"
                key, mode_id = f"region:{place}/region-loss", "region-loss"
            else:
                name = f"AZ {place}"
                key, mode_id = f"az:{place}/az-loss", "az-loss"
            self.rows.append(_merge(key, name, mode_id, f"{name} loss", members))


def score(
    architecture: Architecture,
    catalog: Catalog,
    proposals: list[tuple[str, FailureMode]] | None = None,
) -> Worksheet:
    counts = dependents(architecture)
    spofs = single_points_of_failure(architecture, catalog, counts)
    lines = {c["id"]: architecture.line_of(i) for i, c in enumerate(architecture.components)}
    workload_controls = controls_of(architecture.workload)
    scoring = _Scoring(
        architecture,
        catalog,
        counts,
        topo.build(architecture, counts),
        set(spofs),
        lines,
        workload_controls,
    )
    for component in architecture.components:
        scoring.add(component)
    scoring.merge_shared()
    rows = scoring.rows
    rows += _partition_event(architecture, scoring.topology, catalog, lines, workload_controls)
    by_id = {c["id"]: c for c in architecture.components}
    for cid, mode in proposals or []:
        if cid in by_id:
            rows.append(
                _row(by_id[cid], lines[cid], mode, architecture, counts[cid], proposed=True)
            )
    rows.sort(key=lambda r: (AP_RANK[r.revised_action_priority], -r.severity, -r.revised_rpn, r.id))
    return Worksheet(rows, scoring.ruled_out, spofs)


def _derived_rows(
    component: dict[str, Any],
    topology: Topology,
    catalog: Catalog,
    own: list[Row],
    make: Callable[[dict[str, Any], FailureMode], Row],
) -> list[Row]:
    out: list[Row] = []
    residency = catalog.derived.get("residency")
    if residency is not None:
        has_global_row = any(r.mode_id == "global-residency" for r in own)
        reasons = topo.residency_breaches(component, topology, skip_global=has_global_row)
        if reasons:
            row = make(component, residency)
            row.cause = "; ".join(reasons) + " (outside the residency)"
            out.append(row)
    partition = catalog.derived.get("partition")
    if partition is not None:
        partitions = topo.partitions_of(component, topology)
        if len(partitions) > 1:
            row = make(component, partition)
            row.cause += f"; this component spans {', '.join(partitions)}"
            out.append(row)
    return out


def _partition_event(
    architecture: Architecture,
    topology: Topology,
    catalog: Catalog,
    lines: dict[str, int],
    controls: dict[str, list[str]],
) -> list[Row]:
    """One row per partition of a multi-Region workload: the shared fate a second Region
    inside the same partition does not remove."""
    mode = catalog.derived.get("partition-event")
    if mode is None or len(topology.workload_regions) < 2:
        return []
    rows = []
    components = architecture.components
    for partition in topology.partitions:
        members = [
            c["id"]
            for c in components
            if partition in (topo.partitions_of(c, topology) or [partition])
        ]
        if not members:
            continue
        first = next(c for c in components if c["id"] == members[0])
        row = _row(
            {"id": first["id"], "kind": first["kind"]},
            lines[first["id"]],
            mode,
            architecture,
            0,
            False,
            controls,
        )
        row.id = _row_id(f"partition:{partition}/partition-event")
        row.item = f"Partition {partition}"
        row.affects = members
        row.effect += f" ({len(members)} component(s): {_listing(members)})"
        rows.append(row)
    return rows


def worksheet(
    architecture: Architecture,
    catalog: Catalog,
    proposals: list[tuple[str, FailureMode]] | None = None,
) -> list[Row]:
    return score(architecture, catalog, proposals).rows


def _worse(row: Row, before: dict[str, Any]) -> int:
    """-1 better, 0 same, 1 worse than the baseline row (revised columns when it has them)."""
    ap_now, rpn_now = row.revised_action_priority, row.revised_rpn
    ap_then = str(before.get("revised_action_priority") or before["action_priority"])
    rpn_then = int(before.get("revised_rpn") or before["rpn"])
    if AP_RANK[ap_now] != AP_RANK[ap_then]:
        return 1 if AP_RANK[ap_now] < AP_RANK[ap_then] else -1
    return (rpn_now > rpn_then) - (rpn_now < rpn_then)


def gate_failures(
    rows: list[Row],
    fail_on: str,
    baseline: dict[str, Any] | None = None,
    gate_on_proposed: bool = False,
) -> list[Row]:
    """Rows whose revised AP is at or above ``fail_on``: with a baseline, only new or worse ones."""
    threshold = AP_RANK[fail_on]
    old = {r["id"]: r for r in (baseline or {}).get("rows", [])}
    failing = []
    for row in rows:
        if AP_RANK[row.revised_action_priority] > threshold or (
            row.proposed_by_model and not gate_on_proposed
        ):
            continue
        before = old.get(row.id)
        if baseline is not None and before is not None and _worse(row, before) <= 0:
            continue
        failing.append(row)
    return failing


def diff(rows: list[Row], baseline: dict[str, Any]) -> dict[str, list[str]]:
    """Rows new since the baseline, worse, better, and baseline rows no longer present."""
    old = {r["id"]: r for r in baseline.get("rows", [])}
    now = {r.id for r in rows}
    out: dict[str, list[str]] = {"new": [], "worsened": [], "improved": [], "resolved": []}
    for row in rows:
        before = old.get(row.id)
        if before is None:
            out["new"].append(row.id)
        elif (change := _worse(row, before)) > 0:
            out["worsened"].append(row.id)
        elif change < 0:
            out["improved"].append(row.id)
    out["resolved"] = sorted(i for i in old if i not in now)
    return out


def summary(rows: list[Row], spofs: list[str]) -> dict[str, Any]:
    initial = Counter(r.action_priority for r in rows)
    counts = Counter(r.revised_action_priority for r in rows)
    return {
        "rows": len(rows),
        "action_priority": {"H": counts["H"], "M": counts["M"], "L": counts["L"]},
        "initial_action_priority": {"H": initial["H"], "M": initial["M"], "L": initial["L"]},
        "max_rpn": max((r.revised_rpn for r in rows), default=0),
        "single_points_of_failure": spofs,
        "proposed_by_model": sum(1 for r in rows if r.proposed_by_model),
    }
