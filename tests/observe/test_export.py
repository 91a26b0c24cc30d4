"""`agentkit observe export --format cloudformation`: the alarms the runbooks name, and only
those; their timing is the runbooks'; the template passes cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.cli.app import main
from agentkit.config import load_config
from agentkit.observe.cloudformation import build_template
from agentkit.paths import data_dir
from agentkit.runbooks import load_all, load_runbook
from agentkit.runbooks.timing import recovery_time

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "capacity-nova-pro.yaml"
RUNBOOKS = load_all()


def _named_by_runbooks() -> dict[str, set[str]]:
    """Alarm name -> runbook ids, read straight from runbooks/*.yaml (not through agentkit)."""
    named: dict[str, set[str]] = {}
    for path in sorted(data_dir("runbooks").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        spec = doc["spec"]
        for name in [t["alarm"] for t in spec["triggers"]] + spec.get("health_alarms", []):
            named.setdefault(name, set()).add(doc["metadata"]["id"])
    return named


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
    }


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return build_template(load_config(EXAMPLE, check_residency=False), RUNBOOKS)


def _fed(exported: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Alarm name -> the composites whose rule names it."""
    parents: dict[str, set[str]] = {}
    for name, resource in exported.items():
        for child in re.findall(r'ALARM\("([^"]+)"\)', resource["Properties"].get("AlarmRule", "")):
            parents.setdefault(child, set()).add(name)
    return parents


def _runbooks_above(
    name: str, named: dict[str, set[str]], parents: dict[str, set[str]]
) -> set[str]:
    """The runbooks that name ``name``, else those of the runbook alarms it feeds."""
    if name in named:
        return named[name]
    return set().union(*(_runbooks_above(p, named, parents) for p in parents.get(name, ())))


def test_every_runbook_alarm_is_exported_and_every_export_names_its_runbooks(
    example: dict[str, Any],
) -> None:
    named = _named_by_runbooks()
    exported = _alarms(example)
    parents = _fed(exported)
    assert set(named) <= set(exported)  # every alarm a runbook names
    for name, resource in exported.items():
        said = re.search(r"Runbooks: ([a-z0-9, -]+)\.$", resource["Properties"]["AlarmDescription"])
        assert said, name
        expected = _runbooks_above(name, named, parents)
        assert expected, f"{name} is named by no runbook and feeds no alarm a runbook names"
        assert set(said.group(1).split(", ")) == expected, name
    # the alarms no runbook names itself are the SLO burn-rate alarms behind agent-slo-burn
    assert {n for n in exported if n not in named} == {n for n in exported if n.startswith("slo-")}


def test_the_composite_watches_the_health_alarms_of_the_runbooks_it_triggers(
    example: dict[str, Any],
) -> None:
    composite = _alarms(example)["regional-health-composite"]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    rule = composite["Properties"]["AlarmRule"]
    region_failover = yaml.safe_load((data_dir("runbooks") / "region-failover.yaml").read_text())
    for child in region_failover["spec"]["health_alarms"]:
        assert f'ALARM("{child}")' in rule
    assert set(re.findall(r'ALARM\("([^"]+)"\)', rule)) <= set(_alarms(example))


def test_thresholds_come_from_the_configuration(example: dict[str, Any]) -> None:
    # examples/capacity-nova-pro.yaml: RPM 169.2 at peak x1.5 = 253.8 calls a minute; the spike
    # alarm fires above twice that (508); quotas per Region from capacity.quotas (TPD = TPM x 1440).
    alarms = _alarms(example)
    assert alarms["agent-model-calls-spike"]["Properties"]["Threshold"] == 508
    assert alarms["agent-p99-latency"]["Properties"]["Threshold"] == 30.0  # timeouts.read_s
    assert example["Mappings"]["Quotas"]["us-east-1"] == {"Tpm": 2_000_000, "Tpd": 2_880_000_000}
    body = example["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for region in ("us-east-1", "us-east-2", "us-west-2"):  # routes and quotas, side by side
        assert f'"region": "{region}"' in body
    models = {
        d["Value"]
        for q in alarms["bedrock-5xx-high"]["Properties"]["Metrics"]
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
    }
    assert models == {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.amazon.nova-pro-v1:0"}


def test_without_a_capacity_section_the_quotas_are_parameters() -> None:
    template = build_template(load_config(None), RUNBOOKS)
    assert {"TpmQuota", "TpdQuota", "ModelCallsPerMinuteLimit"} <= set(template["Parameters"])
    assert "Mappings" not in template


def test_a_trigger_timing_is_the_exported_alarm_timing(tmp_path: Path) -> None:
    data = yaml.safe_load((data_dir("runbooks") / "mcp-tool-outage.yaml").read_text())
    data["spec"]["triggers"][0].update(period_s=30, evaluation_periods=2)
    path = tmp_path / "mcp-tool-outage.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    runbook = load_runbook(path)
    template = build_template(load_config(EXAMPLE, check_residency=False), [runbook])
    alarm = _alarms(template)["tool-breaker-open"]["Properties"]
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (30, 2)
    assert recovery_time(runbook).detection_s == alarm["Period"] * alarm["EvaluationPeriods"]


def test_the_templates_pass_cfn_lint(example: dict[str, Any]) -> None:
    from cfnlint import api  # the dev extra: CI lints, never skips

    default = build_template(load_config(None), RUNBOOKS)
    slos = build_template(load_config(ROOT / "examples" / "slos.yaml"), RUNBOOKS)  # two SLOs
    for template in (example, default, slos):
        found = api.lint_all(json.dumps(template))
        serious = [m for m in found if m.rule.id[0] in "EW"]
        assert serious == [], [str(m) for m in serious]


def test_the_cli_writes_the_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "observe.json"
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "observe",
                "export",
                "--format",
                "cloudformation",
                "-c",
                str(EXAMPLE),
                "--out",
                str(out),
            ]
        )
    assert exited.value.code in (0, None)
    assert _alarms(json.loads(out.read_text()))["bedrock-5xx-high"]
    bad = tmp_path / "agentkit.yaml"
    bad.write_text("models:\n  routes: []\n")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "-c", str(bad), "--out", str(tmp_path / "never.json")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("agentkit: error: ")
    assert err.count("\n") == 1
    assert not (tmp_path / "never.json").exists()
