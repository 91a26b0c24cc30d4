"""Every CLI entry point on hostile input: a documented exit code, one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from hypothesis import example, given
from hypothesis import strategies as st

from agentkit.fmea.model import load_catalog
from tests.fuzz.conftest import (
    HOSTILE_NUMBERS,
    HOSTILE_STRINGS,
    SCALARS,
    VALUES,
    YAML_TEXT,
    dump,
    fuzz,
    run_cli,
)

CAPACITY: dict[str, Any] = {
    "concurrent_threads": 20,
    "max_completion_tokens": 1000,
    "tokens_per_second": 50,
    "system_prompt_tokens": 2000,
    "recursion_limit": 10,
    "burndown": 5,
    "traffic_share": {"us-east-1": 1.0},
    "quotas": {"us-east-1": {"tpm": 400_000}},
}
KINDS = sorted(load_catalog().kinds)
IDS = st.one_of(st.sampled_from(["db", "app", "web", "db\n", "-x", "a b"]), HOSTILE_STRINGS)


@fuzz(40)
@given(
    st.dictionaries(
        st.sampled_from(sorted(CAPACITY)), st.one_of(SCALARS, HOSTILE_NUMBERS), max_size=3
    ),
    st.booleans(),
)
@example({"tokens_per_second": float("inf")}, False)
@example({"concurrent_threads": 10**5000 // 10**4700}, True)
def test_capacity(workdir: Path, overrides: dict[str, Any], as_json: bool) -> None:
    path = workdir / "agentkit.yaml"
    path.write_text(dump({"capacity": {**CAPACITY, **overrides}}), encoding="utf-8")
    result = run_cli("capacity", "-c", str(path), *(["--json"] if as_json else []))
    result.check()
    if as_json and result.code == 0:
        json.loads(result.out, parse_constant=_refuse)


@fuzz(30)
@given(YAML_TEXT)
def test_config_yaml(workdir: Path, text: str) -> None:
    path = workdir / "agentkit.yaml"
    path.write_text(text, encoding="utf-8")
    run_cli("capacity", "-c", str(path)).check()


def components() -> Any:
    component = st.fixed_dictionaries(
        {"id": IDS, "kind": st.one_of(st.sampled_from(KINDS), HOSTILE_STRINGS)},
        optional={
            "depends_on": st.lists(IDS, max_size=3),
            "multi_az": st.one_of(st.booleans(), SCALARS),
            "description": HOSTILE_STRINGS,
        },
    )
    return st.lists(component, min_size=1, max_size=6)


@fuzz(30)
@given(
    components(),
    st.one_of(HOSTILE_STRINGS, st.text(max_size=10)),
    st.one_of(st.none(), VALUES, st.just("report")),
)
def test_fmea(workdir: Path, parts: list[dict[str, Any]], name: str, baseline: Any) -> None:
    arch = workdir / "arch.yaml"
    arch.write_text(
        dump(
            {
                "apiVersion": "agentkit/architecture/v1",
                "workload": {"name": name},
                "components": parts,
            }
        ),
        encoding="utf-8",
    )
    out = workdir / "fmea-out"
    argv = ["fmea", str(arch), "--out", str(out), "--no-model"]
    if baseline is not None:
        base = workdir / "baseline.json"
        if baseline == "report" and (out / "fmea.json").exists():
            base.write_bytes((out / "fmea.json").read_bytes())
        else:
            base.write_text(dump(baseline), encoding="utf-8")
        argv += ["--baseline", str(base)]
    result = run_cli(*argv)
    result.check()
    if result.code in (0, 3):
        json.loads((out / "fmea.json").read_text(encoding="utf-8"), parse_constant=_refuse)
        json.loads((out / "fmea.sarif").read_text(encoding="utf-8"), parse_constant=_refuse)
        ET.fromstring((out / "fmea.junit.xml").read_bytes())


@fuzz(25)
@given(YAML_TEXT)
def test_fmea_architecture_text(workdir: Path, text: str) -> None:
    arch = workdir / "arch.yaml"
    arch.write_text(text, encoding="utf-8")
    run_cli("fmea", str(arch), "--out", str(workdir / "fmea-out"), "--no-model").check()


@fuzz(25)
@given(
    st.one_of(
        st.dictionaries(
            st.sampled_from(["rto_minutes", "rpo_minutes", "tier", "primary_region", "residency"]),
            st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
            max_size=4,
        ),
        VALUES,
    )
)
@example({"rto_minutes": 15, "rpo_minutes": 5, "primary_region": "us-east-1"})
def test_tools_call(workdir: Path, payload: Any) -> None:
    path = workdir / "input.json"
    path.write_text(dump(payload), encoding="utf-8")
    run_cli("tools", "call", "dr_advisor", "--input", str(path)).check()


@fuzz(25)
@given(
    st.one_of(
        YAML_TEXT,
        VALUES.map(dump),
        st.fixed_dictionaries(
            {"apiVersion": st.just("agentkit/runbook/v1"), "kind": st.just("Runbook")},
            optional={"metadata": VALUES, "spec": VALUES},
        ).map(dump),
    )
)
def test_runbook_validate(workdir: Path, text: str) -> None:
    path = workdir / "runbook.yaml"
    path.write_text(text, encoding="utf-8")
    run_cli("runbook", "validate", str(path)).check()


@fuzz(12)
@given(st.text(max_size=200))
@example("RTO 15 minutes, RPO 5 minutes for payments in us-east-1\x00")
@example("RTO 5 min " * 3000)
@example("\x00")
@example("x" * 1_000_000)
def test_ask(workdir: Path, question: str) -> None:
    result = run_cli("ask", "--json", question)
    result.check()
    if result.code == 0:
        assert json.loads(result.out)["answer"]


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} in strict JSON output")
