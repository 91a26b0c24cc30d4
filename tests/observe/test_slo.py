"""SLOs in agentkit.yaml and their multiwindow burn-rate alarms: thresholds from the objective,
windows within CloudWatch's limits, composite rules that name exported alarms, every request
valid against botocore's cloudwatch model, one-line errors for a bad ``slos:`` section."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.cli.app import main
from agentkit.config import AgentkitConfig, load_config
from agentkit.drill.validate import check_request
from agentkit.observe import burn
from agentkit.observe.build import build_stack
from agentkit.observe.model import Stack, api_requests, resolve
from agentkit.observe.slo import BURN_WINDOWS, Slo, default_slos
from agentkit.paths import data_dir
from agentkit.runbooks import load_all, load_runbook

ROOT = Path(__file__).resolve().parents[2]
SLOS = ROOT / "examples" / "slos.yaml"
CAPACITY = ROOT / "examples" / "capacity-nova-pro.yaml"
RUNBOOKS = load_all()
FAST, SLOW = BURN_WINDOWS


def _stack(path: Path | None = SLOS) -> Stack:
    return build_stack(load_config(path, check_residency=False), RUNBOOKS)


def _slo(**fields: Any) -> Slo:
    return Slo.model_validate({"capability": "dr-advisor", **fields})


def test_burn_rates_are_the_workbook_s_for_a_30_day_window() -> None:
    # 2% of the budget in 1 h and 5% in 6 h, of a 30-day window: 14.4x and 6x.
    assert FAST.burn_rate(30) == 14.4
    assert SLOW.burn_rate(30) == 6
    assert (FAST.long_s, FAST.short_s, SLOW.long_s, SLOW.short_s) == (3600, 300, 21600, 1800)
    # the budget spent is what is fixed: a 28-day window burns 2% in an hour at 13.44x
    assert FAST.burn_rate(28) == pytest.approx(13.44)


def test_thresholds_come_from_the_objective() -> None:
    slo = _slo(success_rate={"objective": 0.99}, latency={"percentile": 99.9, "threshold_ms": 500})
    assert burn.threshold(slo, slo.success_rate.budget, FAST) == 0.144  # type: ignore[union-attr]
    assert burn.threshold(slo, slo.success_rate.budget, SLOW) == 0.06  # type: ignore[union-attr]
    assert burn.threshold(slo, slo.latency.budget, FAST) == 0.0144  # type: ignore[union-attr]
    alarms = _stack().by_name
    # examples/slos.yaml: dr-advisor 99% over 30 days; orders-assistant 99.5% over 28 days
    fast = alarms["slo-dr-advisor-errors-fast-1h"].props
    assert fast["Threshold"] == 0.144
    assert alarms["slo-dr-advisor-errors-slow-30m"].props["Threshold"] == 0.06
    assert alarms["slo-orders-assistant-errors-fast-5m"].props["Threshold"] == pytest.approx(
        0.005 * 13.44
    )
    latency = alarms["slo-dr-advisor-latency-fast-5m"].props
    assert latency["Threshold"] == 0.144
    stats = {q["MetricStat"]["Stat"] for q in latency["Metrics"] if "MetricStat" in q}
    assert stats == {"PR(:45)", "SampleCount"}  # 45000 ms, in the histogram's seconds
    assert "slo-orders-assistant-latency-fast-1h" not in alarms  # no latency objective


def test_each_window_is_one_period_of_its_length_within_cloudwatch_s_day() -> None:
    for alarm in _stack().alarms:
        if not alarm.name.startswith("slo-") or alarm.composite:
            continue
        window = re.search(r"-(\d+)([hm])$", alarm.name)
        assert window, alarm.name
        seconds = int(window.group(1)) * (3600 if window.group(2) == "h" else 60)
        props = alarm.props
        periods = {q["MetricStat"]["Period"] for q in props["Metrics"] if "MetricStat" in q}
        assert periods == {seconds}, alarm.name
        assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == 1
        # PutMetricAlarm: Period is 10, 20, 30 or a multiple of 60; Period x EvaluationPeriods
        # at most one day
        assert seconds % 60 == 0
        assert seconds * props["EvaluationPeriods"] <= 86_400
        returned = [q for q in props["Metrics"] if q.get("ReturnData")]
        assert len(returned) == 1
        assert "Expression" in returned[0]
        ids = {q["Id"] for q in props["Metrics"]}
        used = set(re.findall(r"[a-z][A-Za-z0-9_]*", returned[0]["Expression"]))
        assert used <= ids, alarm.name  # the expression names only queries of the alarm


def test_composites_pair_the_windows_and_name_only_exported_alarms() -> None:
    stack = _stack()
    alarms = stack.by_name
    for alarm in stack.alarms:
        if alarm.composite:
            named = re.findall(r'ALARM\("([^"]+)"\)', alarm.props["AlarmRule"])
            assert named, alarm.name
            assert set(named) <= set(alarms), alarm.name
            assert named == list(alarm.children)
    pair = alarms["slo-dr-advisor-errors-fast-burn"].props["AlarmRule"]
    assert (
        pair == 'ALARM("slo-dr-advisor-errors-fast-1h") AND ALARM("slo-dr-advisor-errors-fast-5m")'
    )
    assert alarms["slo-dr-advisor-latency-slow-burn"].props["AlarmRule"] == (
        'ALARM("slo-dr-advisor-latency-slow-6h") AND ALARM("slo-dr-advisor-latency-slow-30m")'
    )
    capability = alarms["slo-dr-advisor"].props["AlarmRule"]
    assert capability.split(" OR ") == [
        f'ALARM("slo-dr-advisor-{sli}-{speed}-burn")'
        for sli in ("errors", "latency")
        for speed in ("fast", "slow")
    ]
    top = alarms[burn.COMPOSITE].props["AlarmRule"]
    assert top == 'ALARM("slo-dr-advisor") OR ALARM("slo-orders-assistant")'


def test_a_runbook_triggers_on_the_slo_composite_and_every_slo_alarm_names_it() -> None:
    evacuation = yaml.safe_load(
        (data_dir("runbooks") / "bedrock-region-evacuation.yaml").read_text()
    )
    assert burn.COMPOSITE in [t["alarm"] for t in evacuation["spec"]["triggers"]]
    for alarm in _stack().alarms:
        if alarm.name.startswith("slo-") or alarm.name == burn.COMPOSITE:
            assert alarm.props["AlarmDescription"].endswith("Runbooks: bedrock-region-evacuation.")


def test_the_dashboard_shows_each_success_slo_per_region_against_its_budget() -> None:
    stack = _stack()
    body = json.loads(resolve(stack.dashboard_body, stack, "us-east-1", {}))
    titles = {w["properties"]["title"]: w for w in body["widgets"]}
    widget = titles["dr-advisor: share of runs not answered, per Region (budget 0.01)"]
    assert widget["properties"]["annotations"]["horizontal"][0]["value"] == 0.01
    regions = {line[-1]["region"] for line in widget["properties"]["metrics"] if len(line) > 1}
    assert regions == {"us-east-1", "us-west-2"}
    assert "orders-assistant: share of runs not answered, per Region (budget 0.005)" in titles
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    shown = {arn.rsplit(":", 1)[1] for arn in alarm_widget["properties"]["alarms"]}
    assert {"slo-dr-advisor", "slo-orders-assistant", burn.COMPOSITE} <= shown
    assert not {n for n in shown if re.search(r"-(fast|slow)-", n)}  # not each window's


def test_without_a_runbook_on_the_slo_composite_there_are_no_slo_alarms() -> None:
    runbook = load_runbook(data_dir("runbooks") / "mcp-tool-outage.yaml")
    stack = build_stack(load_config(SLOS, check_residency=False), [runbook])
    assert not [a for a in stack.alarms if a.name.startswith("slo-")]


def test_without_slos_the_defaults_apply() -> None:
    config = AgentkitConfig()
    assert config.slos is None
    (slo,) = default_slos(config.limits.deadline_s)
    assert slo.capability == "dr-advisor"
    assert slo.success_rate is not None
    assert slo.success_rate.objective == 0.99
    assert slo.latency is not None
    assert slo.latency.threshold_ms == 60_000
    alarms = build_stack(config, RUNBOOKS).by_name
    assert alarms["slo-dr-advisor-errors-fast-1h"].props["Threshold"] == 0.144
    assert "slo-dr-advisor-latency-slow-6h" in alarms


@pytest.mark.parametrize("path", [SLOS, CAPACITY, None], ids=["slos", "capacity", "defaults"])
def test_every_request_is_valid_for_botocore_s_cloudwatch_model(path: Path | None) -> None:
    stack = _stack(path)
    inputs = {"TpmQuota": 2_000_000, "TpdQuota": 2_880_000_000, "ModelCallsPerMinuteLimit": 500}
    for region in stack.regions:
        requests = api_requests(stack, region, inputs)
        assert len({p.get("AlarmName") for _, p in requests}) == len(requests)  # unique names
        for operation, params in requests:
            problems = check_request("cloudwatch", operation, params)
            assert problems == [], (operation, params.get("AlarmName"), problems)
            for query in params.get("Metrics", []):
                assert len(params["Metrics"]) <= 20  # PutMetricAlarm: up to 20 queries
                assert re.fullmatch(r"[a-z][A-Za-z0-9_]*", query["Id"])


def _run(tmp_path: Path, slos: str, capsys: pytest.CaptureFixture[str]) -> str:
    config = tmp_path / "agentkit.yaml"
    config.write_text(slos)
    out = tmp_path / "observe.json"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "-c", str(config), "--out", str(out)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("agentkit: error: "), err
    assert err.count("\n") == 1, err
    assert not out.exists()
    return err


@pytest.mark.parametrize(
    ("slos", "said"),
    [
        ("slos:\n  - {capability: dr-advisor, success_rate: {objective: 1.5}}\n", "objective"),
        ("slos:\n  - {capability: dr-advisor, latency: {percentile: 99}}\n", "threshold_ms"),
        ("slos:\n  - {capability: dr-advisor}\n", "give success_rate, latency or both"),
        ("slos:\n  - {capability: Dr Advisor, success_rate: {objective: 0.99}}\n", "capability"),
        ("slos:\n  - {capability: dr-advisor, success_rate: {objective: 0.9}}\n", "never fire"),
        ("slos: []\n", "slos"),
        (
            "slos:\n  - {capability: dr-advisor, success_rate: {objective: 0.99}}\n"
            "  - {capability: dr-advisor, success_rate: {objective: 0.999}}\n",
            "two SLOs",
        ),
        ("slos:\n  - {capability: dr-advisor, succes_rate: {objective: 0.99}}\n", "unknown key"),
    ],
    ids=["objective", "threshold", "empty-slo", "name", "unreachable", "empty", "twice", "typo"],
)
def test_a_bad_slos_section_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], slos: str, said: str
) -> None:
    err = _run(tmp_path, slos, capsys)
    assert "slos" in err, err
    assert said in err, err
