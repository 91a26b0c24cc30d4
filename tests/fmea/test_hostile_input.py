"""Hostile architectures and baselines: one line and exit 2, never a traceback or a hang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.errors import InputError
from agentkit.fmea.model import MAX_COMPONENTS, load_architecture, load_catalog
from agentkit.fmea.run import analyse

HEAD = "apiVersion: agentkit/architecture/v1\nworkload: {name: w}\ncomponents:\n"
CATALOG = load_catalog()


def chain(length: int) -> str:
    lines = [f"  - {{id: c{i}, kind: lambda, depends_on: [c{i + 1}]}}" for i in range(length)]
    lines.append(f"  - {{id: c{length}, kind: lambda}}")
    return HEAD + "\n".join(lines) + "\n"


def test_a_3001_deep_depends_on_chain_is_scored(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(chain(3001))
    report = analyse(path, formats=("json",)).report
    assert report["summary"]["rows"] > 3001


def test_a_deep_cycle_is_found_iteratively(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(chain(3001).replace("kind: lambda}\n", "kind: lambda, depends_on: [c0]}\n"))
    with pytest.raises(InputError, match=r"depends_on cycle: c0 -> c1 -> .* -> c3001 -> c0$"):
        load_architecture(path, CATALOG)


def test_too_many_components_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_COMPONENTS == 10_000
    monkeypatch.setattr("agentkit.fmea.model.MAX_COMPONENTS", 3)
    path = tmp_path / "arch.yaml"
    path.write_text(HEAD + "".join(f"  - {{id: c{i}, kind: lambda}}\n" for i in range(4)))
    with pytest.raises(InputError, match="4 components; the limit is 3"):
        load_architecture(path, CATALOG)


@pytest.mark.parametrize("bad_id", ["db\\n", "db\\r", "-db", "d b", ""])
def test_ids_must_match_in_full(tmp_path: Path, bad_id: str) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(HEAD + f'  - {{id: "{bad_id}", kind: lambda}}\n')
    with pytest.raises(InputError) as caught:
        load_architecture(path, CATALOG)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("baseline", "problem"),
    [
        ("[1, 2]", "not an agentkit FMEA JSON report"),
        ('{"schema": "agentkit/fmea-report/v1"}', "rows: Field required"),
        ('{"schema": "agentkit/fmea-report/v1", "rows": [{"id": 1}]}', "rows.0.id"),
        (
            '{"schema": "agentkit/fmea-report/v1", "rows": [{"id": "a", '
            '"action_priority": "X", "rpn": 1}]}',
            "rows.0.action_priority",
        ),
        (
            '{"schema": "agentkit/fmea-report/v1", "rows": [{"id": "a", '
            '"action_priority": "H", "rpn": NaN}]}',
            "NaN is not a JSON number",
        ),
        ('{"schema": "agentkit/fmea-report/v1", "rows": [', "invalid JSON"),
        ("[" * 10_000 + "]" * 10_000, "nested more than"),
    ],
)
def test_a_malformed_baseline_is_one_line(tmp_path: Path, baseline: str, problem: str) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text(HEAD + "  - {id: db, kind: lambda}\n")
    path = tmp_path / "baseline.json"
    path.write_text(baseline)
    with pytest.raises(InputError, match=problem) as caught:
        analyse(arch, baseline_path=path, formats=("json",))
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_a_report_is_a_valid_baseline(tmp_path: Path) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text(HEAD + "  - {id: db, kind: lambda}\n")
    path = tmp_path / "baseline.json"
    path.write_text(analyse(arch, formats=("json",)).files["fmea.json"])
    assert analyse(arch, baseline_path=path, formats=("json",)).failing == 0
    assert json.loads(path.read_text())["rows"]


def test_components_validated_once_per_shape_still_report_the_right_one(tmp_path: Path) -> None:
    same = "".join(f"  - {{id: c{i}, kind: lambda, multi_az: true}}\n" for i in range(5))
    path = tmp_path / "arch.yaml"
    path.write_text(HEAD + same + "  - {id: bad, kind: lambda, multi_az: maybe}\n")
    with pytest.raises(InputError, match=r"arch.yaml:9: \$.components\[5\].multi_az: 'maybe'"):
        load_architecture(path, CATALOG)
    path.write_text(HEAD + same + "  - {id: c9, kind: lambda, multi_az: true, depends_on: [1]}\n")
    with pytest.raises(InputError, match=r"\$.components\[5\].depends_on\[0\]: 1 is not of type"):
        load_architecture(path, CATALOG)
