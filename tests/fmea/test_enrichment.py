from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import AllRoutesFailed
from agentkit.fmea.engine import worksheet
from agentkit.fmea.model import load_architecture, load_catalog
from agentkit.fmea.run import analyse
from agentkit.testing import ScriptedModel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROPOSAL = {
    "component": "db",
    "mode": "Connection pool exhaustion",
    "effect": "Timeouts",
    "cause": "Retry storms",
    "class": "insufficient_capacity",
    "actions": ["Add RDS Proxy"],
    "s": 9,
    "o": 8,
    "d": 7,
}


def proposals(*items: dict[str, Any]) -> ScriptedModel:
    return ScriptedModel(
        [{"toolUse": {"name": "propose_failure_modes", "input": {"proposals": list(items)}}}]
    )


def test_proposals_are_validated_scored_and_marked() -> None:
    unknown = {**PROPOSAL, "component": "ghost"}
    duplicate = {**PROPOSAL, "mode": "Instance or Availability Zone loss"}
    outcome = analyse(
        EXAMPLES / "three-tier-single-az.yaml",
        model=proposals(PROPOSAL, unknown, duplicate),
        formats=("json",),
    )
    proposed = [r for r in outcome.report["rows"] if r["proposed_by_model"]]
    assert [
        (r["component"], r["failure_mode"], r["rpn"], r["action_priority"]) for r in proposed
    ] == [("db", "Connection pool exhaustion", 10 * 8 * 7, "H")]  # S +1: db has dependents
    assert outcome.report["model_enrichment"] == "1 proposal(s)"
    assert proposed[0]["id"] not in outcome.report["gate"]["failing"]  # never gates by default
    gated = analyse(
        EXAMPLES / "three-tier-single-az.yaml",
        model=proposals(PROPOSAL),
        gate_on_proposed=True,
        formats=("json",),
    )
    assert any(
        r["proposed_by_model"]
        for r in gated.report["rows"]
        if r["id"] in gated.report["gate"]["failing"]
    )


def test_a_failing_model_tier_means_no_proposals() -> None:
    outcome = analyse(
        EXAMPLES / "three-tier-single-az.yaml",
        model=ScriptedModel([AllRoutesFailed([])]),
        formats=("json",),
    )
    assert outcome.report["model_enrichment"].startswith("skipped: every model route failed")
    assert not any(r["proposed_by_model"] for r in outcome.report["rows"])


def _condition(when: str, value: Any) -> dict[str, Any]:
    if when == "profile_scope":
        return {"profile": "global.anthropic.claude"}
    if when == "global_with_residency":
        return {"profile": "global.anthropic.claude"}
    component: dict[str, Any] = {}
    target = component
    *parents, leaf = when.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value
    return component


CATALOG = load_catalog()
MODIFIERS = [
    (kind, mode.id, m)
    for kind, modes in CATALOG.kinds.items()
    for mode in modes
    for m in mode.modifiers
]


@pytest.mark.parametrize(
    ("kind", "mode_id", "modifier"), MODIFIERS, ids=[f"{k}/{i}/{m.when}" for k, i, m in MODIFIERS]
)
def test_each_catalog_modifier_moves_its_rating_by_its_delta(
    tmp_path: Path, kind: str, mode_id: str, modifier: Any
) -> None:
    import yaml

    def rating(component: dict[str, Any], residency: list[str]) -> int:
        doc = {
            "apiVersion": "agentkit/architecture/v1",
            "workload": {"name": "w", "residency": residency},
            "components": [{"id": "c", "kind": kind, **component}],
        }
        path = tmp_path / "a.yaml"
        path.write_text(yaml.safe_dump(doc))
        rows = worksheet(load_architecture(path, CATALOG), CATALOG)
        row = next(r for r in rows if r.mode_id == mode_id)
        return int({"s": row.severity, "o": row.occurrence, "d": row.detection}[modifier.rating])

    residency = ["eu"] if modifier.when == "global_with_residency" else []
    before = rating({}, [] if modifier.when == "global_with_residency" else residency)
    after = rating(_condition(modifier.when, modifier.is_), residency)
    others = sum(
        m.delta
        for m in next(f for f in CATALOG.kinds[kind] if f.id == mode_id).modifiers
        if m is not modifier
        and m.rating == modifier.rating
        and m.when == "profile_scope"
        and modifier.when == "global_with_residency"
    )
    assert after - before == max(1 - before, min(10 - before, modifier.delta + others))
