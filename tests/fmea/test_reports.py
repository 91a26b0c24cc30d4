"""Reports in five formats, byte-identical across runs; the CLI's exit codes and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from agentkit.fmea.run import analyse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
THREE_TIER = EXAMPLES / "three-tier-single-az.yaml"
HEAD = "apiVersion: agentkit/architecture/v1\nworkload: {name: w}\ncomponents:\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "fmea", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_json_rows_carry_the_required_fields() -> None:
    report = analyse(THREE_TIER, formats=("json",)).report
    assert report["schema"] == "agentkit/fmea-report/v2"
    for row in report["rows"]:
        assert {
            "component",
            "severity",
            "occurrence",
            "detection",
            "rpn",
            "action_priority",
        } <= row.keys()
        assert row["action_priority"] in ("H", "M", "L")
    assert report["summary"]["single_points_of_failure"] == ["web", "app", "db"]


def test_sarif_is_structurally_valid_and_points_at_component_lines() -> None:
    outcome = analyse(THREE_TIER, formats=("sarif", "json"))
    sarif = json.loads(outcome.files["fmea.sarif"])
    assert sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    rule_ids = {rule["id"] for rule in run_["tool"]["driver"]["rules"]}
    rows = {r["id"]: r for r in outcome.report["rows"]}
    assert len(run_["results"]) == sum(1 for r in rows.values() if r["action_priority"] in "HM")
    for result in run_["results"]:
        assert result["ruleId"] in rule_ids
        assert result["level"] in ("error", "warning")
        location = result["locations"][0]["physicalLocation"]
        row = rows[result["partialFingerprints"]["agentkitFmeaRow"]]
        assert location["artifactLocation"]["uri"].endswith("three-tier-single-az.yaml")
        line = THREE_TIER.read_text().splitlines()[location["region"]["startLine"] - 1]
        assert f"id: {row['component']}" in line


def test_junit_has_a_failing_case_per_high_item() -> None:
    outcome = analyse(THREE_TIER, formats=("junit", "json"))
    suite = ET.fromstring(outcome.files["fmea.junit.xml"]).find("testsuite")
    assert suite is not None
    high = [r for r in outcome.report["rows"] if r["action_priority"] == "H"]
    assert suite.get("failures") == str(len(high) + 1)  # and the gate case
    failed = [case for case in suite.findall("testcase") if case.find("failure") is not None]
    assert len(failed) == len(high) + 1


def test_html_is_one_file_with_two_inline_svg_charts() -> None:
    page = analyse(THREE_TIER, formats=("html",)).files["fmea.html"]
    assert page.count("<svg") == 2
    assert "Risk matrix" in page
    assert "RPN Pareto" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # no external assets


def test_outputs_are_byte_identical_across_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert run(str(THREE_TIER), "--out", str(first)).returncode == 3
    assert run(str(THREE_TIER), "--out", str(second)).returncode == 3
    for name in ("fmea.md", "fmea.json", "fmea.html", "fmea.sarif", "fmea.junit.xml"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_exit_codes_gate_and_baseline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    failed = run(str(EXAMPLES / "serverless-active-passive.yaml"), "--out", str(out))
    assert failed.returncode == 3
    assert "FMEA gate failed: 1 item(s) at or above H" in failed.stderr
    again = run(
        str(EXAMPLES / "serverless-active-passive.yaml"),
        "--out",
        str(tmp_path / "o2"),
        "--baseline",
        str(out / "fmea.json"),
    )
    assert again.returncode == 0  # nothing new or worse than the baseline


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEAD + "  - {id: x, kind: teapot}\n",
            ":4: unknown kind 'teapot'",
        ),
        (
            "apiVersion: agentkit/architecture/v1\nworkload: {name: w}\ncomponents:\n"
            "  - {id: a, kind: rds, depends_on: [ghost]}\n",
            ":4: a depends on unknown component 'ghost'",
        ),
        (
            "apiVersion: agentkit/architecture/v1\nworkload: {name: w}\ncomponents:\n"
            "  - {id: a, kind: ecs, depends_on: [b]}\n  - {id: b, kind: ecs, depends_on: [a]}\n",
            ":4: depends_on cycle: a -> b -> a",
        ),
        (
            HEAD + "  - {kind: rds}\n",
            ":4: $.components[0]: 'id' is a required property",
        ),
        (
            HEAD + "  - {id: a, kind: rds, multi_az: yes please}\n",
            ":4: $.components[0].multi_az: 'yes please' is not of type 'boolean'",
        ),
        ("apiVersion: agentkit/architecture/v1\nworkload: [\n", "invalid YAML"),
    ],
    ids=["unknown-kind", "dangling-depends-on", "cycle", "missing-field", "wrong-type", "bad-yaml"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = run(str(path), "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_user_catalog_adds_kinds(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("""version: 2
kinds:
  mainframe:
    - {id: batch-window, class: excessive_latency, dimension: deployment_infrastructure,
       hub_category: application, mode: Batch window overrun, effect: Late settlement,
       cause: Volume growth, prevention: Capacity planning, detection: Job alarms,
       actions: [Split the batch], s: 7, o: 5, d: 4}
""")
    arch = tmp_path / "arch.yaml"
    arch.write_text(
        "apiVersion: agentkit/architecture/v1\nworkload: {name: w}\n"
        "components:\n  - {id: mf, kind: mainframe}\n  - {id: db, kind: rds}\n"
    )
    report = analyse(arch, catalog_path=catalog, formats=("json",)).report
    assert {r["component"] for r in report["rows"]} == {"mf", "db"}
    assert report["catalog_version"] == 2


HARDENED = EXAMPLES / "genai-agent-hardened.yaml"
FMEA_FORMATS = ("md", "json", "html", "sarif", "junit")
WEAK = EXAMPLES / "genai-agent-stack.yaml"


def test_the_hardened_example_passes_and_the_weak_one_fails(tmp_path: Path) -> None:
    passed = run(str(HARDENED), "--out", str(tmp_path / "a"), "--no-model")
    assert passed.returncode == 0, passed.stderr
    failed = run(str(WEAK), "--out", str(tmp_path / "b"), "--no-model")
    assert failed.returncode == 3
    assert "FMEA gate failed" in failed.stderr


@pytest.mark.parametrize("example", [HARDENED, WEAK], ids=["hardened", "weak"])
def test_every_format_starts_with_the_gate_result_and_its_reason(example: Path) -> None:
    outcome = analyse(example, formats=FMEA_FORMATS)
    gate = outcome.report["gate"]
    word = "FAILED" if gate["failed"] else "PASSED"
    assert gate["reason"]
    md_lines = outcome.files["fmea.md"].splitlines()
    assert md_lines[2].startswith(f"**Gate {word}")
    assert gate["reason"][:40] in md_lines[2]
    assert list(json.loads(outcome.files["fmea.json"]))[:2] == ["schema", "gate"]
    page = outcome.files["fmea.html"]
    assert page.index(f"Gate {word}") < page.index("<h1>")
    sarif = json.loads(outcome.files["fmea.sarif"])
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is (not gate["failed"])
    assert word in invocation["toolExecutionNotifications"][0]["message"]["text"]
    suite = ET.fromstring(outcome.files["fmea.junit.xml"]).find("testsuite")
    assert suite is not None
    first = suite.find("testcase")
    assert first is not None
    assert first.get("name") == "gate"
    assert (first.find("failure") is not None) is gate["failed"]


def test_the_worksheet_has_the_reviewer_columns() -> None:
    outcome = analyse(HARDENED, formats=("md", "html", "json"))
    header = outcome.files["fmea.md"].splitlines()[
        next(
            i
            for i, line in enumerate(outcome.files["fmea.md"].splitlines())
            if line.startswith("| ID")
        )
    ]
    for column in (
        "ID",
        "Item",
        "Function",
        "Failure mode",
        "Cause",
        "Effect",
        "Controls",
        "RPN",
        "AP",
        "S'",
        "O'",
        "D'",
        "RPN'",
        "AP'",
        "Owner: action",
    ):
        assert f" {column} |" in header
        assert f"<th>{column}</th>" in outcome.files["fmea.html"]
    row = outcome.report["rows"][0]
    for key in (
        "item",
        "function",
        "cause",
        "effect",
        "owner",
        "revised_severity",
        "revised_occurrence",
        "revised_detection",
        "revised_rpn",
        "revised_action_priority",
    ):
        assert key in row
    assert row["owner"] == "support-platform"


def test_charts_scale_to_the_page() -> None:
    page = analyse(WEAK, formats=("html",)).files["fmea.html"]
    assert page.count('class="chart"') == 2
    assert 'viewBox="0 0 ' in page
    assert "width:100%" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" width=' not in page  # no fixed widths


def test_a_baseline_diff_names_new_worsened_improved_and_resolved_rows(tmp_path: Path) -> None:
    before = analyse(WEAK, formats=("json",)).report
    rows = before["rows"]
    rows[0]["revised_rpn"] += 50  # this row is better now
    rows[1]["revised_rpn"] -= 1  # this one is worse now
    gone = {**rows[2], "id": "FM-gone"}
    new_id = rows[3]["id"]
    baseline = {**before, "rows": [r for r in rows if r["id"] != new_id] + [gone]}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline))
    outcome = analyse(WEAK, baseline_path=path, formats=FMEA_FORMATS)
    diff = outcome.report["diff"]
    assert diff["improved"] == [rows[0]["id"]]
    assert diff["worsened"] == [rows[1]["id"]]
    assert diff["new"] == [new_id]
    assert diff["resolved"] == ["FM-gone"]
    assert (
        "Against the baseline: new 1, worsened 1, improved 1, resolved 1."
        in outcome.files["fmea.md"]
    )
    assert "worsened: " in outcome.files["fmea.html"]
    states = {
        r["partialFingerprints"]["agentkitFmeaRow"]: r["baselineState"]
        for r in json.loads(outcome.files["fmea.sarif"])["runs"][0]["results"]
    }
    assert states.get(new_id, "new") == "new"
    assert set(states.values()) <= {"new", "updated", "unchanged"}
    assert set(outcome.report["gate"]["failing"]) <= {rows[1]["id"], new_id}


def test_a_version_1_report_still_serves_as_a_baseline(tmp_path: Path) -> None:
    report = analyse(WEAK, formats=("json",)).report
    old = {
        "schema": "agentkit/fmea-report/v1",
        "rows": [
            {
                "id": r["id"],
                "action_priority": r["revised_action_priority"],
                "rpn": r["revised_rpn"],
            }
            for r in report["rows"]
        ],
    }
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    assert analyse(WEAK, baseline_path=path, formats=("json",)).failing == 0


def test_the_report_says_which_catalogue_scored_it() -> None:
    assert analyse(THREE_TIER, formats=("json",)).report["catalog_version"] == 2
    assert analyse(THREE_TIER, catalog_version=1, formats=("json",)).report["catalog_version"] == 1
