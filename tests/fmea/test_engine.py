"""Scoring is code: the AIAG-VDA table cell by cell, modifiers, propagation, SPOF, gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.fmea.engine import action_priority, gate_failures, worksheet
from agentkit.fmea.model import Architecture, load_architecture, load_catalog

CATALOG = load_catalog(version=1)  # these tests pin version 1 behaviour: v1 files keep working
D_BANDS = [[7, 8, 9, 10], [5, 6], [2, 3, 4], [1]]


# An independent transcription of the AIAG-VDA action priority table (domain.md 2.1, AP-IMPL),
# kept as text here so the test never reads the code's own table. Cells are D bands
# 7-10 / 5-6 / 2-4 / 1.
AP_TEXT = """
| S \\ O | 8-10 | 6-7 | 4-5 | 2-3 | 1 |
| 9-10 | HHHH | HHHH | HHHM | HMLL | LLLL |
| 7-8 | HHHH | HHHM | HMMM | MMLL | LLLL |
| 4-6 | HHMM | MMML | MLLL | LLLL | LLLL |
| 2-3 | MMLL | LLLL | LLLL | LLLL | LLLL |
| 1 | LLLL | LLLL | LLLL | LLLL | LLLL |
"""


def _span(text: str) -> list[int]:
    low, _, high = text.strip().partition("-")
    return list(range(int(low), int(high or low) + 1))


def transcribed_table() -> dict[tuple[int, int, int], str]:
    lines = [line.strip().strip("|").split("|") for line in AP_TEXT.strip().splitlines()]
    o_bands = [_span(cell) for cell in lines[0][1:]]
    table = {}
    for row in lines[1:]:
        for s in _span(row[0]):
            for o_band, letters in zip(o_bands, row[1:], strict=True):
                for d_band, letter in zip(D_BANDS, letters.strip(), strict=True):
                    for o in o_band:
                        for d in d_band:
                            table[(s, o, d)] = letter
    return table


def test_every_cell_of_the_action_priority_table() -> None:
    expected = transcribed_table()
    assert len(expected) == 1000  # every S, O, D from 1 to 10
    wrong = [(k, v, action_priority(*k)) for k, v in expected.items() if action_priority(*k) != v]
    assert wrong == []


@pytest.mark.parametrize(
    ("s", "o", "d", "ap"),
    [
        (8, 6, 3, "H"),
        (5, 5, 2, "L"),
        (8, 3, 3, "L"),
        (7, 2, 3, "L"),
        (8, 3, 6, "M"),
        (6, 5, 3, "L"),
        (6, 4, 8, "M"),
        (8, 4, 5, "M"),
        (6, 6, 3, "M"),
        (6, 4, 3, "L"),
        (7, 4, 3, "M"),
        (7, 5, 4, "M"),
        (6, 5, 4, "L"),
        (7, 4, 6, "M"),
        (8, 7, 3, "H"),
        (8, 3, 4, "L"),
        (9, 3, 7, "H"),
        (7, 6, 8, "H"),
        (7, 6, 5, "H"),
        (7, 5, 7, "H"),
        (6, 6, 4, "M"),
        (7, 6, 9, "H"),
    ],
)
def test_the_seed_catalog_rows_of_domain_md(s: int, o: int, d: int, ap: str) -> None:
    assert action_priority(s, o, d) == ap


def architecture(tmp_path: Path, components: list[dict[str, Any]], **extra: Any) -> Architecture:
    doc = {
        "apiVersion": "agentkit/architecture/v1",
        "workload": {"name": "w", **extra.pop("workload", {})},
        "regions": extra.pop("regions", ["us-east-1"]),
        "components": components,
    }
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_architecture(path, CATALOG)


def row(rows: list[Any], component: str, mode: str) -> Any:
    return next(r for r in rows if r.component == component and r.mode_id == mode)


@pytest.mark.parametrize(
    ("component", "mode", "rating", "before", "after"),
    [
        ({"id": "c", "kind": "rds", "multi_az": True}, "instance-loss", "occurrence", 6, 4),
        (
            {"id": "c", "kind": "rds", "monitoring": {"alarms": False}},
            "instance-loss",
            "detection",
            3,
            6,
        ),
        (
            {"id": "c", "kind": "rds", "backups": {"cross_region_copy": True}},
            "region-loss",
            "severity",
            8,
            6,
        ),
        (
            {"id": "c", "kind": "lambda", "resilience": {"reserved_concurrency": True}},
            "concurrency-exhaustion",
            "occurrence",
            6,
            3,
        ),
        (
            {"id": "c", "kind": "mcp-tool", "resilience": {"versioned_schemas": True}},
            "schema-drift",
            "detection",
            7,
            3,
        ),
        (
            {"id": "c", "kind": "observability", "monitoring": {"evaluations": True}},
            "undetected-hallucination",
            "detection",
            9,
            4,
        ),
        (
            {"id": "c", "kind": "bedrock-cris", "profile": "global.anthropic.claude"},
            "global-residency",
            "occurrence",
            1,
            3,
        ),
    ],
)
def test_each_modifier_moves_its_rating(
    tmp_path: Path, component: dict[str, Any], mode: str, rating: str, before: int, after: int
) -> None:
    plain = {"id": "c", "kind": component["kind"]}
    baseline = row(worksheet(architecture(tmp_path, [plain]), CATALOG), "c", mode)
    changed = row(worksheet(architecture(tmp_path, [component]), CATALOG), "c", mode)
    assert (getattr(baseline, rating), getattr(changed, rating)) == (before, after)
    assert changed.adjustments


def test_a_global_profile_with_residency_is_a_high_priority_risk(tmp_path: Path) -> None:
    comp = {"id": "llm", "kind": "bedrock-cris", "profile": "global.anthropic.claude"}
    rows = worksheet(architecture(tmp_path, [comp], workload={"residency": ["eu"]}), CATALOG)
    risk = row(rows, "llm", "global-residency")
    assert (risk.occurrence, risk.action_priority) == (8, "H")
    geo = worksheet(
        architecture(
            tmp_path, [{**comp, "profile": "eu.anthropic.claude"}], workload={"residency": ["eu"]}
        ),
        CATALOG,
    )
    assert row(geo, "llm", "global-residency").action_priority == "L"


def test_dependents_raise_severity_and_spofs_are_found(tmp_path: Path) -> None:
    comps = [
        {"id": "db", "kind": "rds"},
        {"id": "api", "kind": "ecs", "multi_az": True, "depends_on": ["db"]},
        {"id": "lb", "kind": "alb", "depends_on": ["api"]},
    ]
    rows = worksheet(architecture(tmp_path, comps), CATALOG)
    db = row(rows, "db", "instance-loss")
    assert db.severity == 9  # 8, +1 for two dependents (api directly, lb through api)
    assert "2 components depend on db" in db.adjustments[-1]
    assert row(rows, "db", "graph-spof").seed_class == "single_point_of_failure"
    assert not [r for r in rows if r.component == "api" and r.mode_id == "graph-spof"]  # Multi-AZ
    multi = worksheet(architecture(tmp_path, [{**comps[0], "multi_az": True}, *comps[1:]]), CATALOG)
    assert not [r for r in multi if r.mode_id == "graph-spof"]


def test_rows_are_sorted_and_ids_are_stable(tmp_path: Path) -> None:
    comps = [{"id": "db", "kind": "rds"}, {"id": "kb", "kind": "knowledge-base"}]
    rows = worksheet(architecture(tmp_path, comps), CATALOG)
    keys = [("HML".index(r.action_priority), -r.severity, -r.rpn) for r in rows]
    assert keys == sorted(keys)
    again = worksheet(architecture(tmp_path, list(reversed(comps))), CATALOG)
    assert sorted(r.id for r in rows) == sorted(r.id for r in again)
    assert all(r.rpn == r.severity * r.occurrence * r.detection for r in rows)


def test_gate_and_baseline_semantics(tmp_path: Path) -> None:
    rows = worksheet(architecture(tmp_path, [{"id": "db", "kind": "rds"}]), CATALOG)
    high = [r for r in rows if r.action_priority == "H"]
    assert gate_failures(rows, "H") == high
    assert len(gate_failures(rows, "M")) == len([r for r in rows if r.action_priority in "HM"])
    baseline = {"rows": [r.to_json() for r in rows]}
    assert gate_failures(rows, "H", baseline) == []  # nothing new, nothing worse
    worse = {"rows": [{**r.to_json(), "revised_rpn": r.revised_rpn - 1} for r in rows]}
    assert gate_failures(rows, "H", worse) == high  # every H item got worse
    v1_report = {"rows": [{"id": r.id, "action_priority": "M", "rpn": r.rpn} for r in rows]}
    assert gate_failures(rows, "H", v1_report) == high  # a v1 baseline: M then, H now


def test_proposed_items_do_not_gate_unless_asked(tmp_path: Path) -> None:
    proposal = CATALOG.kinds["rds"][0].model_copy(update={"id": "model-idea"})
    rows = worksheet(
        architecture(tmp_path, [{"id": "db", "kind": "rds", "multi_az": True}]),
        CATALOG,
        proposals=[("db", proposal)],
    )
    proposed = row(rows, "db", "model-idea")
    assert proposed.proposed_by_model
    assert proposed not in gate_failures(rows, "M")
    assert proposed in gate_failures(rows, "M", gate_on_proposed=True)
