"""Detection and bake time count against the RTO budget: `runbook plan` from an id or a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.cli.app import main
from agentkit.paths import data_dir
from agentkit.runbooks import load_runbook, plan
from agentkit.runbooks.plan import render_markdown
from agentkit.runbooks.timing import recovery_time, trigger_time

# dynamodb-region-evacuation: its critical path is 600 s against an RTO budget of 900 s.
SHIPPED = "dynamodb-region-evacuation"


def _runbook_file(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load((data_dir("runbooks") / f"{SHIPPED}.yaml").read_text())
    change(data["spec"])
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_trigger_without_settings_takes_the_documented_defaults() -> None:
    t = trigger_time({"alarm": "a"})
    assert (t.period_s, t.evaluation_periods, t.seconds) == (60, 3, 180)
    assert t.defaulted == ("period_s", "evaluation_periods")
    checked = trigger_time({"alarm": "hc", "health_check": {}, "period_s": 60})
    # Route 53 defaults: 30 s x 3 failures, then the alarm on the check: 60 s x 3
    assert (checked.health_check_s, checked.alarm_s, checked.seconds) == (90, 180, 270)
    assert checked.defaulted == ("evaluation_periods", "request_interval_s", "failure_threshold")


def test_the_slowest_trigger_and_the_bake_count(tmp_path: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["triggers"] = [
            {"alarm": "fast", "period_s": 10, "evaluation_periods": 2},
            {
                "alarm": "r53-primary",
                "health_check": {"request_interval_s": 10, "failure_threshold": 2},
                "period_s": 60,
                "evaluation_periods": 1,
            },
        ]
        spec["failback"]["bake_s"] = 120

    rt = recovery_time(load_runbook(_runbook_file(tmp_path, change)))
    assert rt.detecting is not None
    assert rt.detecting.alarm == "r53-primary"
    assert rt.detection_s == 10 * 2 + 60 * 1
    assert rt.steps_s == 600
    assert rt.total_s == 80 + 600 + 120
    assert not rt.over_budget  # 800 <= 900


def test_detection_plus_steps_over_the_rto_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 600 s of steps fit the 900 s budget; five 60 s periods of detection do not.
    path = _runbook_file(
        tmp_path,
        lambda spec: spec["triggers"][0].update(period_s=60, evaluation_periods=5),
    )
    code, out, err = _run(
        ["runbook", "plan", str(path), "--from", "us-east-1", "--to", "us-west-2"], capsys
    )
    assert code == 0  # a warning, not an error: plan has no warning exit code
    expected = f"warning: {SHIPPED}: recovery takes up to 900 s, more than the RTO budget of 900 s"
    assert expected not in err  # exactly at the budget is within it
    path = _runbook_file(
        tmp_path,
        lambda spec: spec["triggers"][0].update(period_s=60, evaluation_periods=6),
    )
    code, out, err = _run(
        ["runbook", "plan", str(path), "--from", "us-east-1", "--to", "us-west-2"], capsys
    )
    assert code == 0
    assert (
        f"warning: {SHIPPED}: recovery takes up to 960 s, more than the RTO budget of 900 s" in err
    )
    assert "detection 360 s" in err
    assert "critical path 600 s" in err
    assert "| **total** (over the RTO budget of 900 s) | **960** |" in out
    assert "## Warnings" in out


def test_a_plan_under_the_rto_does_not_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        [
            "runbook",
            "plan",
            SHIPPED,
            "--from",
            "us-east-1",
            "--to",
            "us-west-2",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    assert err == ""
    planned = json.loads(out)
    assert planned["warnings"] == []
    rt = planned["recovery_time"]
    assert (rt["detection_s"], rt["steps_s"], rt["bake_s"], rt["total_s"]) == (180, 600, 0, 780)
    assert rt["over_budget"] is False
    assert rt["triggers"][0]["defaults"] == ["period_s", "evaluation_periods"]


def test_the_bake_before_failback_alone_can_break_the_budget(tmp_path: Path) -> None:
    runbook = load_runbook(_runbook_file(tmp_path, lambda s: s["failback"].update(bake_s=1800)))
    planned = plan(runbook, "us-east-1", "us-west-2")
    assert planned["recovery_time"]["total_s"] == 180 + 600 + 1800
    assert planned["warnings"]
    assert "bake before failback 1800 s" in planned["warnings"][0]
    assert "| bake before failback | 1800 |" in render_markdown(planned)


def test_a_bad_timing_field_is_a_schema_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _runbook_file(
        tmp_path, lambda spec: spec["triggers"][0].update(health_check={"request_interval_s": 15})
    )
    code, _, err = _run(
        ["runbook", "plan", str(path), "--from", "us-east-1", "--to", "us-west-2"], capsys
    )
    assert code == 2
    assert err.startswith("agentkit: error: ")
    assert "mine.yaml:" in err
    assert "15 is not one of [10, 30]" in err
    assert "Traceback" not in err


def test_a_missing_runbook_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["runbook", "plan", "nope.yaml", "--from", "us-east-1"], capsys)
    assert code == 2
    assert err == "agentkit: error: nope.yaml: no such runbook file\n"
