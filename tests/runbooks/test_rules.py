"""The rules that need a runbook's meaning: data before traffic, the unreachable source Region,
partitions, placeholders, the strategy and the RTO budget; and the ARC export's identifiers."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.cli.app import main
from agentkit.errors import InputError
from agentkit.paths import data_dir
from agentkit.runbooks import Runbook, load_all, load_runbook, plan, validate
from agentkit.runbooks.arc import ArcTarget, arc_export
from agentkit.runbooks.model import LOCK_NAME
from agentkit.runbooks.plan import check_regions, render_markdown
from agentkit.runbooks.rules import (
    critical_path,
    forward,
    is_capacity,
    is_data,
    is_traffic,
    runs_in_source,
)
from agentkit.runbooks.tool import find_runbooks

TODAY = dt.date(2026, 11, 24)
RUNBOOKS = {rb.id: rb for rb in load_all()}
REQUIRED = {
    "region-failover",
    "region-failback",
    "aurora-global-switchover",
    "aurora-global-failover",
    "rds-replica-promotion",
    "s3-mrap-failover",
    "kb-regional-failover",
    "kb-search-fallback",
    "pilot-light-activation",
    "backup-restore-rebuild",
    "az-zonal-shift",
    "elasticache-global-datastore-promotion",
    "secrets-kms-multi-region",
    "drs-recovery",
    "govcloud-region-failover",
    "china-region-failover",
    "guardrail-over-blocking",
    "model-deprecation",
    "agent-kill-switch",
    "prompt-injection-response",
    "human-handoff",
}
ANY_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# Shipped runbooks whose steps fit their RTO budget but not once detection is counted at the
# default alarm settings (60 s x 3 periods). Only this one, and honestly: its
# metadata.description says why (AWS publishes no promotion time to budget on).
OVER_BUDGET_WITH_DETECTION = {"elasticache-global-datastore-promotion"}


def test_every_runbook_the_advisor_names_exists_and_validates() -> None:
    assert set(RUNBOOKS) >= REQUIRED
    for runbook in RUNBOOKS.values():
        report = validate(runbook, today=TODAY)
        assert report.errors == [], runbook.id
        over = [w for w in report.warnings if "RTO budget" in w]
        assert bool(over) == (runbook.id in OVER_BUDGET_WITH_DETECTION), (runbook.id, over)
        spec = runbook.spec
        for part in ("triggers", "verification", "failback"):
            assert spec[part], (runbook.id, part)
        assert "evidence" in spec or runbook.id in _BEFORE_EVIDENCE, runbook.id


_BEFORE_EVIDENCE = {"arc-traffic-shift", "cross-partition-recovery", "dynamodb-region-evacuation"}
_BEFORE_EVIDENCE |= {"kb-search-fallback", "mcp-tool-outage", "quota-exhaustion"}


def test_no_template_placeholder_but_source_and_target_in_any_runbook_file() -> None:
    for path in sorted(data_dir("runbooks").glob("*.yaml")):
        names = set(ANY_PLACEHOLDER.findall(path.read_text()))
        assert names <= {"source", "target"}, (path.name, names)
        assert "<REPLACE" not in path.read_text(), path.name


def test_region_switch_runbooks_follow_the_strategy() -> None:
    rebuild = RUNBOOKS["backup-restore-rebuild"]
    assert rebuild.spec["strategies"] == ["backup_restore"]
    assert not [s for s in rebuild.steps if s["type"].startswith("arc.")]
    for runbook in RUNBOOKS.values():
        switches = [
            s
            for s in runbook.steps
            if s["type"].startswith("arc.") and s["type"] != "arc.zonal_shift"
        ]
        if switches:
            assert "backup_restore" not in runbook.spec["strategies"], runbook.id


def _order(planned: dict[str, Any]) -> dict[str, int]:
    return {s["id"]: g for g, group in enumerate(planned["groups"]) for s in group["steps"]}


@pytest.mark.parametrize(
    "runbook_id",
    ["region-failover", "region-failback", "pilot-light-activation", "govcloud-region-failover"],
)
def test_plans_put_data_and_capacity_before_traffic(runbook_id: str) -> None:
    runbook = RUNBOOKS[runbook_id]
    source, target = (
        ("us-gov-west-1", "us-gov-east-1")
        if "govcloud" in runbook_id
        else ("us-east-1", "us-west-2")
    )
    planned = plan(runbook, source, target)
    group = _order(planned)
    steps = forward(runbook)
    data = [s["id"] for s in steps if is_data(s)]
    traffic = [s["id"] for s in steps if is_traffic(s)]
    assert data
    assert traffic
    assert max(group[d] for d in data) < min(group[t] for t in traffic)
    if runbook_id == "pilot-light-activation":
        scale = [s["id"] for s in steps if is_capacity(s)]
        assert max(group[c] for c in scale) < min(group[t] for t in traffic)


def test_region_failover_promotes_each_store_before_the_first_traffic_step() -> None:
    planned = plan(RUNBOOKS["region-failover"], "eu-west-1", "eu-central-1")
    ids = [s["id"] for g in planned["groups"] for s in g["steps"]]
    first_traffic = ids.index("traffic_on_target")
    for step in ("add_reader", "aurora_failover", "ddb_write_home", "s3_routes", "scale_compute"):
        assert ids.index(step) < first_traffic
    assert ids.index("traffic_on_target") < ids.index("traffic_off_source")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(data_dir("runbooks") / "schema", tmp_path / "schema")
    for name in (
        "region-failover",
        "aurora-global-failover",
        "backup-restore-rebuild",
        "rds-replica-promotion",
    ):
        shutil.copy(data_dir("runbooks") / f"{name}.yaml", tmp_path)
    shutil.copy(data_dir("runbooks") / LOCK_NAME, tmp_path)
    return tmp_path


def _mutate(path: Path, change: Callable[[dict[str, Any]], None]) -> Runbook:
    data = yaml.safe_load(path.read_text())
    change(data)
    data["metadata"]["version"] = "9.0.0"  # a reviewed change with a bump: only the rule fires
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_runbook(path)


def _steps(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data["spec"]["steps"]}


BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "traffic before a data step",
        "region-failover",
        lambda d: _steps(d)["traffic_on_target"].update(depends_on=["scale_compute"]),
        "traffic step traffic_on_target (arc.routing_control) does not depend on data step "
        "aurora_failover",
    ),
    (
        "data after traffic",
        "region-failover",
        lambda d: _steps(d)["ddb_write_home"].update(depends_on=["traffic_off_source"]),
        "depends_on cycle",
    ),
    (
        "traffic before capacity",
        "region-failover",
        lambda d: _steps(d)["traffic_on_target"].update(
            depends_on=["aurora_failover", "ddb_write_home", "s3_routes"]
        ),
        "does not depend on capacity step scale_compute",
    ),
    (
        "a step in the unreachable source",
        "aurora-global-failover",
        lambda d: _steps(d)["fence_writes"].update(run_in="source"),
        "step fence_writes runs in the source Region",
    ),
    (
        "a command in the unreachable source",
        "aurora-global-failover",
        lambda d: _steps(d)["confirm_writer"]["params"].update(
            command="aws rds describe-global-clusters --region ${source}"
        ),
        "step confirm_writer runs in the source Region",
    ),
    (
        "a template placeholder",
        "aurora-global-failover",
        lambda d: _steps(d)["failover"]["params"].update(target_cluster="${target_cluster_arn}"),
        "template placeholder ${target_cluster_arn}",
    ),
    (
        "a Region switch in backup and restore",
        "backup-restore-rebuild",
        lambda d: d["spec"]["steps"].append(
            {
                "id": "switch",
                "type": "arc.region_switch_plan",
                "title": "Region switch",
                "depends_on": ["cutover"],
            }
        ),
        "lists backup_restore, which has no Region switch plan",
    ),
    (
        "a one-way promotion without an approval",
        "rds-replica-promotion",
        lambda d: (
            _steps(d)["promote"].pop("approval"),
            _steps(d)["promote"].pop("destructive"),
            _steps(d)["promote"].update(depends_on=[]),
        ),
        "destructive step promote (rds.promote_replica) is not gated",
    ),
    (
        "an unknown partition",
        "region-failover",
        lambda d: d["spec"]["regions"].update(partition="aws-moon"),
        "'aws-moon' is not one of",
    ),
]


@pytest.mark.parametrize(
    ("name", "runbook_id", "change", "message"), BREAKS, ids=[b[0] for b in BREAKS]
)
def test_each_meaning_rule_has_a_failing_example(
    workspace: Path, name: str, runbook_id: str, change: Any, message: str
) -> None:
    runbook = _mutate(workspace / f"{runbook_id}.yaml", change)
    report = validate(runbook, root=workspace, today=TODAY)
    assert any(message in error for error in report.errors), report.errors


def test_the_aurora_failover_runs_nothing_in_the_source_region() -> None:
    runbook = RUNBOOKS["aurora-global-failover"]
    assert runbook.spec["execution_mode"] == "ungraceful"
    assert not [s["type"] for s in runbook.steps if s["type"] == "aurora.switchover"]
    planned = plan(runbook, "us-east-1", "us-west-2")
    for group in planned["groups"]:
        for step in group["steps"]:
            assert step.get("run_in") not in ("source", "deactivating"), step["id"]
            params = step.get("params", {})
            assert "--region us-east-1" not in json.dumps(params), step["id"]
            assert params.get("region") != "us-east-1", step["id"]
    failover = next(s for s in runbook.steps if s["type"] == "aurora.failover")
    assert "--allow-data-loss" in failover["params"]["command"]
    assert failover["approval"] == "data_loss_go"
    add = next(s for s in runbook.steps if s["type"] == "aurora.add_instance")
    assert add["id"] in failover["depends_on"]
    assert add["budget_s"] >= 300
    for other in RUNBOOKS.values():  # every unplanned runbook, not only Aurora's
        if other.spec.get("execution_mode") == "ungraceful":
            assert not [s["id"] for s in forward(other) if runs_in_source(s)], other.id


def test_the_switchover_is_planned_with_rpo_zero() -> None:
    runbook = RUNBOOKS["aurora-global-switchover"]
    assert runbook.spec["execution_mode"] == "graceful"
    (switch,) = [s for s in runbook.steps if s["type"] == "aurora.switchover"]
    assert "switchover-global-cluster" in switch["params"]["command"]
    assert "allow-data-loss" not in json.dumps(runbook.data)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:  # click exits even on success
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", ["plan", "rehearse"])
@pytest.mark.parametrize(
    ("runbook_id", "source", "target", "message"),
    [
        ("region-failover", "us-east-1", "cn-north-1", "are in different partitions"),
        ("aurora-global-failover", "us-gov-west-1", "us-east-1", "are in different partitions"),
        ("aurora-global-failover", "eu-west-1", "eusc-de-east-1", "different partitions"),
        ("region-failover", "us-gov-west-1", "us-gov-east-1", "runs in partition aws;"),
        ("govcloud-region-failover", "us-east-1", "us-west-2", "runs in partition aws-us-gov;"),
        ("china-region-failover", "cn-north-1", "us-east-1", "different partitions"),
        ("region-failover", "us-east-1", "us-east-9", "unknown Region 'us-east-9'"),
        ("region-failover", "mars-central-1", "us-east-1", "unknown Region 'mars-central-1'"),
        ("region-failover", "us-east-1", "us-east-1", "must be different Regions"),
        ("cross-partition-recovery", "us-east-1", "us-west-2", "moves data to another partition"),
        ("az-zonal-shift", "us-east-1", "us-west-2", "acts inside one Region"),
    ],
)
def test_the_cli_refuses_a_region_pair_with_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str],
    command: str,
    runbook_id: str,
    source: str,
    target: str,
    message: str,
) -> None:
    argv = ["runbook", command, runbook_id, "--from", source, "--to", target]
    if command == "rehearse":
        argv.append("--approve-all")
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("agentkit: error: ")
    assert message in err


def test_a_runbook_acting_in_one_region_needs_no_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["runbook", "plan", "az-zonal-shift", "--from", "eu-west-1"], capsys)
    assert code == 0
    assert "In Region eu-west-1" in out
    code, _, err = _run(["runbook", "plan", "region-failover", "--from", "eu-west-1"], capsys)
    assert code == 2
    assert "give --to" in err


def test_the_cross_partition_runbook_alone_accepts_a_cross_partition_pair() -> None:
    runbook = RUNBOOKS["cross-partition-recovery"]
    assert check_regions(runbook, "us-east-1", "us-gov-west-1") == "us-gov-west-1"
    with pytest.raises(InputError, match="different partitions"):
        check_regions(RUNBOOKS["backup-restore-rebuild"], "us-east-1", "us-gov-west-1")


def test_plan_warns_when_the_critical_path_exceeds_the_rto(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbook = _mutate(
        workspace / "region-failover.yaml", lambda d: d["spec"].update(rto_budget_s=600)
    )
    seconds, path = critical_path(runbook)
    assert seconds == 1500
    assert path == [
        "approve_failover",
        "add_reader",
        "aurora_failover",
        "traffic_on_target",
        "traffic_off_source",
        "dns_wait",
    ]
    report = validate(runbook, root=workspace, today=TODAY)
    assert report.errors == []
    expected = (
        "region-failover: recovery takes up to 1770 s, more than the RTO budget of 600 s: "
        "detection 270 s (regional-health-composite) + critical path 1500 s (approve_failover "
        "-> add_reader -> aurora_failover -> traffic_on_target -> traffic_off_source -> "
        "dns_wait) + bake before failback 0 s = 1770 s"
    )
    assert expected in report.warnings
    planned = plan(runbook, "us-east-1", "us-west-2")
    assert planned["warnings"] == [expected]
    assert f"## Warnings\n- {expected}\n" in render_markdown(planned)
    shipped = plan(RUNBOOKS["region-failover"], "us-east-1", "us-west-2")
    assert shipped["warnings"] == []
    assert shipped["critical_path_s"] == 1500


def test_the_cli_prints_the_budget_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    _mutate(workspace / "region-failover.yaml", lambda d: d["spec"].update(rto_budget_s=600))
    monkeypatch.setattr("agentkit.runbooks.model.runbook_dir", lambda: workspace)
    code, out, err = _run(
        ["runbook", "plan", "region-failover", "--from", "us-east-1", "--to", "us-west-2"], capsys
    )
    assert code == 0
    assert "warning: region-failover: recovery takes up to 1770 s" in err
    assert "## Warnings" in out


ACCOUNT = ArcTarget(account="111122223333")


def test_the_arc_export_uses_real_arns_and_falls_back_to_custom_actions() -> None:
    planned = plan(RUNBOOKS["region-failover"], "us-east-1", "us-west-2")
    request, notes = arc_export(planned, ACCOUNT)
    text = json.dumps(request)
    assert "<REPLACE" not in text
    assert "${" not in text
    assert request["executionRole"] == "arn:aws:iam::111122223333:role/region-switch-execution"
    blocks = {
        b["name"]: b
        for s in request["workflows"][0]["steps"]
        for b in s["executionBlockConfiguration"].get("parallelConfig", {}).get("steps", [s])
    }
    aurora = blocks["aurora_failover"]["executionBlockConfiguration"]["globalAuroraConfig"]
    assert aurora["behavior"] == "failover"
    assert aurora["ungraceful"] == {"ungraceful": "failover"}
    assert aurora["databaseClusterArns"] == [
        "arn:aws:rds:us-east-1:111122223333:cluster:orders-us-east-1",
        "arn:aws:rds:us-west-2:111122223333:cluster:orders-us-west-2",
    ]
    assert blocks["traffic_on_target"]["executionBlockType"] == "CustomActionLambda"
    assert any("orders-us-west-2" in n and "custom action" in n for n in notes)
    panel = "arn:aws:route53-recovery-control::111122223333:controlpanel/a1"
    bound = ArcTarget(
        account="111122223333",
        bindings={
            "orders-us-west-2": f"{panel}/routingcontrol/b2",
            "orders-us-east-1": f"{panel}/routingcontrol/c3",
        },
    )
    request, notes = arc_export(planned, bound)
    steps = request["workflows"][0]["steps"]
    on = next(s for s in steps if s["name"] == "traffic_on_target")
    assert on["executionBlockType"] == "ARCRoutingControl"
    controls = on["executionBlockConfiguration"]["arcRoutingControlConfig"]
    assert controls["regionAndRoutingControls"] == {
        "us-west-2": [{"routingControlArn": f"{panel}/routingcontrol/b2", "state": "On"}]
    }
    assert not [n for n in notes if "routing control" in n]


def test_the_arc_export_follows_the_partition_and_refuses_what_has_no_region_switch() -> None:
    planned = plan(RUNBOOKS["govcloud-region-failover"], "us-gov-west-1", "us-gov-east-1")
    request, _ = arc_export(planned, ACCOUNT)
    assert request["executionRole"].startswith("arn:aws-us-gov:iam::111122223333:role/")
    assert "arn:aws:" not in json.dumps(request)
    long_name = plan(RUNBOOKS["elasticache-global-datastore-promotion"], "us-east-1", "us-west-2")
    assert len(arc_export(long_name, ACCOUNT)[0]["name"]) <= 32
    for runbook_id, pair in (
        ("backup-restore-rebuild", ("us-east-1", "us-west-2")),
        ("az-zonal-shift", ("us-east-1", "us-east-1")),
    ):
        with pytest.raises(InputError, match="no Region switch plan"):
            arc_export(plan(RUNBOOKS[runbook_id], *pair), ACCOUNT)
    with pytest.raises(InputError, match="12-digit"):
        ArcTarget(account="ACCOUNT")


def test_the_tool_skips_runbooks_the_region_pair_cannot_run_and_warns_on_named_ones() -> None:
    found = find_runbooks(
        {"services": ["aurora"], "regions": {"source": "eu-west-1", "target": "eu-central-1"}},
        today=TODAY,
    )
    ids = [b["id"] for b in found["runbooks"]]
    assert "china-region-failover" not in ids
    assert "govcloud-region-failover" not in ids
    named = find_runbooks(
        {
            "runbook_ids": ["region-failover", "aurora-global-failover"],
            "regions": {"source": "us-east-1", "target": "us-gov-west-1"},
        },
        today=TODAY,
    )
    for book in named["runbooks"]:
        assert any("different partitions" in w for w in book["warnings"]), book["id"]
        assert book["critical_path_s"] > 0
        assert book["strategies"]


def test_the_cli_arc_export_reads_bindings_and_notes_fallbacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bindings = tmp_path / "arc-bindings.yaml"
    plan_arn = "arn:aws:arc-region-switch::111122223333:plan/app-region-switch:abc123"
    bindings.write_text(f"app-region-switch: {plan_arn}\n")
    argv = ["runbook", "plan", "arc-traffic-shift", "--from", "us-east-1", "--to", "us-west-2"]
    argv += ["--format", "arc", "--account", "111122223333", "--bindings", str(bindings)]
    code, out, err = _run(argv, capsys)
    assert code == 0
    switch = next(s for s in json.loads(out)["workflows"][0]["steps"] if s["name"] == "switch")
    assert switch["executionBlockConfiguration"] == {"regionSwitchPlanConfig": {"arn": plan_arn}}
    assert err == (
        "note: scale_asg (scale.asg): no binding for app-web@us-east-1 and app-web@us-west-2; "
        "exported as a custom action\n"
    )
    code, _, err = _run([*argv[:7], "--format", "arc", "--account", "12345"], capsys)
    assert code == 2
    assert "not a 12-digit AWS account id" in err
