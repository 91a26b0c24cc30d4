"""The SARIF `agentkit fmea` writes is valid against the official SARIF 2.1.0 schema.

The schema is the one Microsoft's SARIF SDK ships (``@microsoft/jest-sarif``, a devDependency of
``tests/js``), validated with the JSON Schema draft it declares. Every shipped example
architecture is checked, the Terraform plan example, and a run against a baseline (which adds
``baselineState``).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCHEMA = ROOT / "tests/js/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"


def architectures() -> list[Path]:
    return sorted(
        p
        for p in EXAMPLES.glob("*.yaml")
        if "apiVersion: agentkit/architecture/" in p.read_text(encoding="utf-8")
    )


ARCHITECTURES = architectures()
PLANS = sorted((EXAMPLES / "terraform").glob("*.plan.json"))


@pytest.fixture(scope="module")
def sarif_schema() -> Validator:
    if not SCHEMA.is_file():
        if os.environ.get("AGENTKIT_REQUIRE_JS"):
            pytest.fail(
                "the SARIF 2.1.0 schema is missing: run `npm install --prefix tests/js` "
                "(it comes with @microsoft/jest-sarif)"
            )
        pytest.skip(
            "the SARIF 2.1.0 schema comes with @microsoft/jest-sarif: "
            "run `npm install --prefix tests/js` (CI runs it)"
        )
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = validator_for(schema)  # the draft the schema declares (draft-04)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def fmea_sarif(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "fmea", *args, "--out", str(out), "--no-model"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode in (0, 3), result.stderr  # 3: the gate failed, the report stands
    sarif: dict[str, Any] = json.loads((out / "fmea.sarif").read_text(encoding="utf-8"))
    return sarif


def problems(schema: Validator, sarif: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(schema.iter_errors(sarif), key=lambda e: list(map(str, e.path)))
    ]


def test_every_example_is_checked() -> None:
    names = {p.name for p in ARCHITECTURES}
    assert {"three-tier-single-az.yaml", "genai-agent-hardened.yaml"} <= names
    assert PLANS


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda p: p.name)
def test_the_sarif_of_each_example_architecture_is_valid(
    sarif_schema: Validator, tmp_path: Path, architecture: Path
) -> None:
    sarif = fmea_sarif(tmp_path, str(architecture), "--format", "sarif")
    assert problems(sarif_schema, sarif) == []
    assert sarif["runs"][0]["invocations"]  # the gate is in the report


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.name)
def test_the_sarif_of_a_terraform_plan_is_valid(
    sarif_schema: Validator, tmp_path: Path, plan: Path
) -> None:
    sarif = fmea_sarif(tmp_path, "--from-terraform", str(plan), "--format", "sarif")
    assert problems(sarif_schema, sarif) == []


def test_the_sarif_against_a_baseline_is_valid(sarif_schema: Validator, tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    fmea_sarif(before, str(EXAMPLES / "genai-agent-hardened.yaml"), "--format", "json,sarif")
    baseline = before / "report" / "fmea.json"
    sarif = fmea_sarif(
        tmp_path,
        str(EXAMPLES / "genai-agent-stack.yaml"),
        "--format",
        "sarif",
        "--baseline",
        str(baseline),
    )
    states = {r.get("baselineState") for r in sarif["runs"][0]["results"]}
    assert {"new", "updated"} <= states
    assert problems(sarif_schema, sarif) == []


def test_the_schema_catches_what_sarif_forbids(sarif_schema: Validator, tmp_path: Path) -> None:
    sarif = fmea_sarif(tmp_path, str(EXAMPLES / "three-tier-single-az.yaml"), "--format", "sarif")
    broken = copy.deepcopy(sarif)
    broken["runs"][0]["results"][0]["level"] = "fatal"  # not a SARIF level
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    broken["runs"][0]["results"][0]["baselineState"] = "worse"
    found = problems(sarif_schema, broken)
    assert len(found) == 3, found
