"""agentkit's own FMEA: scored with catalogue v2, every control linked to a test that exists,
and the published report in docs/fmea/ regenerated from the example."""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from agentkit.fmea.run import analyse

ROOT = Path(__file__).resolve().parents[2]
OWN = Path("examples/agentkit-architecture.yaml")
DOCS = ROOT / "docs" / "fmea"


def controls() -> list[tuple[str, str, list[str]]]:
    doc = yaml.safe_load((ROOT / OWN).read_text())
    return [
        (
            c["id"],
            m["control"] if isinstance(m, dict) else m,
            (m.get("evidence") or []) if isinstance(m, dict) else [],
        )
        for c in doc["components"]
        for m in c.get("mitigations", [])
    ]


@cache
def defined_tests(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


CONTROLS = controls()


def test_every_control_names_the_tests_that_prove_it() -> None:
    assert len(CONTROLS) >= 20
    assert [(c, m) for c, m, evidence in CONTROLS if not evidence] == []


@pytest.mark.parametrize(
    "test_id",
    sorted({e for _, _, evidence in CONTROLS for e in evidence}),
)
def test_each_evidence_is_a_test_that_exists(test_id: str) -> None:
    file, _, name = test_id.partition("::")
    path = ROOT / file
    assert path.is_file(), f"{file} does not exist"
    assert name.split("[")[0] in defined_tests(path), f"{name} is not a test in {file}"


def test_it_is_scored_with_catalogue_v2_and_its_controls_lower_ratings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    report = analyse(OWN, formats=("json",)).report
    assert report["catalog_version"] == 2
    lowered = [r for r in report["rows"] if r["revisions"]]
    assert len(lowered) >= 8
    assert all(r["evidence"] for r in lowered)


def test_the_published_report_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerate with: agentkit fmea examples/agentkit-architecture.yaml --out docs/fmea
    --format md,json,html --no-model (then rename the files as docs/fmea/README.md says)."""
    monkeypatch.chdir(ROOT)
    outcome = analyse(OWN, formats=("md", "json", "html"))
    published = json.loads((DOCS / "agentkit-architecture.json").read_text())
    assert published == json.loads(outcome.files["fmea.json"])
    assert (DOCS / "agentkit-architecture.md").read_text() == outcome.files["fmea.md"]
    assert (DOCS / "agentkit-architecture.html").read_text() == outcome.files["fmea.html"]
