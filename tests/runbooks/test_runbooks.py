"""Runbooks are validated data: every shipped one passes, and every rule can fail."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.errors import InputError
from agentkit.paths import data_dir
from agentkit.runbooks import load_all, load_runbook, plan, validate
from agentkit.runbooks.arc import ArcTarget, to_arc_plan
from agentkit.runbooks.model import LOCK_NAME, lock_entries
from agentkit.runbooks.plan import render_markdown
from agentkit.runbooks.rules import in_region

TODAY = dt.date(2026, 11, 24)
RUNBOOKS = {rb.id: rb for rb in load_all()}  # parsed once: 28 files with line tracking
SNAPSHOTS = Path(__file__).parent / "snapshots"
SCENARIOS = {
    "bedrock_regional_outage",
    "aurora_global_failover",
    "dynamodb_region_evacuation",
    "arc_traffic_shift",
    "kb_search_fallback",
    "mcp_tool_outage",
    "cross_partition_recovery",
    "quota_exhaustion",
    "region_failover",
    "region_failback",
    "aurora_global_switchover",
    "rds_replica_promotion",
    "s3_mrap_failover",
    "kb_regional_failover",
    "pilot_light_activation",
    "backup_restore_rebuild",
    "az_zonal_shift",
    "elasticache_global_failover",
    "secrets_kms_failover",
    "drs_recovery",
    "guardrail_over_blocking",
    "model_deprecation",
    "runaway_agent",
    "prompt_injection",
    "human_handoff",
    "agentcore_memory_rebuild",
}
ACCOUNT = ArcTarget(account="111122223333")
# The Region pair each runbook is planned with in the snapshots (in-partition pairs).
PAIRS = {
    "govcloud-region-failover": ("us-gov-west-1", "us-gov-east-1"),
    "china-region-failover": ("cn-north-1", "cn-northwest-1"),
    "cross-partition-recovery": ("us-east-1", "us-gov-west-1"),
}


@functools.lru_cache(maxsize=1)
def create_plan_shape() -> Any:
    model = botocore.session.get_session().get_service_model("arc-region-switch")
    return model.operation_model("CreatePlan").input_shape


def pair_for(runbook_id: str) -> tuple[str, str]:
    runbook = RUNBOOKS[runbook_id]
    source, target = PAIRS.get(runbook_id, ("us-east-1", "us-west-2"))
    return (source, source) if in_region(runbook) else (source, target)


def test_every_shipped_runbook_validates_and_every_scenario_is_covered() -> None:
    runbooks = load_all()
    assert {rb.spec["scenario"] for rb in runbooks} == SCENARIOS
    for runbook in runbooks:
        report = validate(runbook, today=TODAY)
        assert report.errors == [], runbook.id
    warnings = [w for rb in runbooks for w in validate(rb, today=TODAY).warnings]
    stale = [w for w in warnings if "RTO budget" not in w]
    assert stale == [
        "cross-partition-recovery: last tested 162 days ago (more than 90); schedule a game day"
    ]
    # Detection at the default alarm settings (docs/runbooks.md) pushes this one past its budget;
    # its description says why the promotion's budget stays until a drill measures it.
    over = sorted(w.split(":", 1)[0] for w in warnings if "RTO budget" in w)
    assert over == ["elasticache-global-datastore-promotion"]
    assert "Over its RTO as written" in RUNBOOKS[over[0]].data["metadata"]["description"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the runbooks folder with the aurora runbook, to break one rule at a time."""
    shutil.copytree(data_dir("runbooks") / "schema", tmp_path / "schema")
    shutil.copy(data_dir("runbooks") / "aurora-global-failover.yaml", tmp_path)
    shutil.copy(data_dir("runbooks") / LOCK_NAME, tmp_path)
    return tmp_path


def mutate(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def steps(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data["spec"]["steps"]}


BREAKS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("schema", lambda d: d["spec"].update(rto_budget_s="soon"), "is not of type 'integer'"),
    (
        "unknown step type",
        lambda d: steps(d)["fence_writes"].update(type="magic.fix"),
        "'magic.fix' is not one of",
    ),
    (
        "duplicate id",
        lambda d: steps(d)["point_app"].update(id="fence_writes"),
        "used more than once",
    ),
    (
        "dangling depends_on",
        lambda d: steps(d)["point_app"].update(depends_on=["nope"]),
        "unknown step 'nope'",
    ),
    (
        "cycle",
        lambda d: steps(d)["fence_writes"].update(depends_on=["point_app"]),
        "depends_on cycle",
    ),
    (
        "dangling rollback",
        lambda d: steps(d)["fence_writes"].update(rollback="undo_all"),
        "rolls back to unknown",
    ),
    (
        "unknown approval",
        lambda d: steps(d)["failover"].update(approval="nobody"),
        "unknown approval 'nobody'",
    ),
    (
        "ungated destructive step",
        lambda d: (
            steps(d)["failover"].pop("approval"),
            steps(d)["failover"].update(depends_on=[]),
        ),
        "destructive step failover (aurora.failover) is not gated",
    ),
    (
        "verification after unknown step",
        lambda d: d["spec"]["verification"][0].update(after_step="ghost"),
        "follows unknown step 'ghost'",
    ),
    (
        "application metric not declared",
        lambda d: d["spec"]["verification"][0].pop("source"),
        "declare source: application if your application publishes it",
    ),
    (
        "agentkit metric agentkit does not emit",
        lambda d: (
            d["spec"]["verification"][0].pop("source"),
            d["spec"]["verification"][0].update(metric="agentkit agentkit.orders.writes"),
        ),
        "agentkit emits no metric 'agentkit.orders.writes'",
    ),
    (
        "verification alarm the export does not create",
        lambda d: d["spec"]["verification"].append({"id": "v_x", "alarm": "nope", "state": "OK"}),
        "alarm 'nope' is neither a trigger nor a health alarm",
    ),
    (
        "verification on an alarm and a metric at once",
        lambda d: d["spec"]["verification"][0].update(alarm="aurora-writer-unavailable"),
        "is not valid under any of the given schemas",
    ),
    (
        "changed without bump",
        lambda d: d["spec"].update(rto_budget_s=1200),
        "changed without a version bump",
    ),
    ("version went back", lambda d: d["metadata"].update(version="0.9.0"), "older than the locked"),
]


@pytest.mark.parametrize(("name", "change", "message"), BREAKS, ids=[b[0] for b in BREAKS])
def test_each_rule_has_a_failing_example(
    workspace: Path, name: str, change: Any, message: str
) -> None:
    path = workspace / "aurora-global-failover.yaml"
    mutate(path, change)
    report = validate(load_runbook(path), root=workspace, today=TODAY)
    assert any(message in error for error in report.errors), report.errors


def test_a_version_bump_accepts_the_change(workspace: Path) -> None:
    path = workspace / "aurora-global-failover.yaml"
    mutate(
        path, lambda d: (d["spec"].update(rto_budget_s=1200), d["metadata"].update(version="2.1.0"))
    )
    assert validate(load_runbook(path), root=workspace, today=TODAY).errors == []


def test_stale_last_tested_is_a_warning_not_an_error(workspace: Path) -> None:
    path = workspace / "aurora-global-failover.yaml"
    report = validate(load_runbook(path), root=workspace, today=dt.date(2027, 6, 1))
    assert report.errors == []
    assert "last tested 195 days ago" in report.warnings[0]


def test_schema_errors_name_the_line(workspace: Path) -> None:
    path = workspace / "aurora-global-failover.yaml"
    mutate(path, lambda d: steps(d)["point_app"].update(timeout_s=-5))
    (error,) = validate(load_runbook(path), root=workspace, today=TODAY).errors
    assert error.startswith(f"{path}:")
    assert "$.spec.steps[6].timeout_s" in error


def test_the_lock_matches_the_shipped_runbooks() -> None:
    lock = json.loads((data_dir("runbooks") / LOCK_NAME).read_text())
    assert lock == lock_entries(load_all())


@pytest.mark.parametrize("runbook_id", sorted(RUNBOOKS))
def test_plans_are_stable_and_export_a_valid_arc_plan(runbook_id: str) -> None:
    runbook = RUNBOOKS[runbook_id]
    source, target = pair_for(runbook_id)
    planned = plan(runbook, source, target)
    assert plan(runbook, source, target) == planned
    assert "${source}" not in json.dumps(planned)
    assert "${target}" not in json.dumps(planned)
    snapshot = SNAPSHOTS / f"{runbook_id}.md"
    rendered = render_markdown(planned)
    if os.environ.get("AGENTKIT_UPDATE_SNAPSHOTS"):  # then review the change in the diff
        snapshot.write_text(rendered)
    assert snapshot.exists(), f"no snapshot: run with AGENTKIT_UPDATE_SNAPSHOTS=1 ({snapshot})"
    assert rendered == snapshot.read_text()
    if in_region(runbook) or runbook.spec["strategies"] == ["backup_restore"]:
        with pytest.raises(InputError, match="no Region switch plan"):
            to_arc_plan(planned, ACCOUNT)
        return
    request = to_arc_plan(planned, ACCOUNT)
    assert "<REPLACE" not in json.dumps(request)
    shape = create_plan_shape()
    validate_parameters(request, shape)
    assert_patterns(request, shape, "CreatePlan")


def assert_patterns(value: Any, shape: Any, path: str) -> None:
    """botocore checks types and minimums; the service also enforces patterns and maximums."""
    import re

    meta = shape.metadata
    if isinstance(value, str):
        if "pattern" in meta:
            assert re.fullmatch(meta["pattern"], value), f"{path}: {value!r} !~ {meta['pattern']}"
        if "max" in meta:
            assert len(value) <= meta["max"], f"{path}: longer than {meta['max']}"
    elif isinstance(value, dict) and shape.type_name == "structure":
        for key, item in value.items():
            assert_patterns(item, shape.members[key], f"{path}.{key}")
    elif isinstance(value, dict) and shape.type_name == "map":
        for key, item in value.items():
            assert_patterns(key, shape.key, f"{path}[key]")
            assert_patterns(item, shape.value, f"{path}[{key}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_patterns(item, shape.member, f"{path}[{index}]")


def test_plan_orders_dependencies_and_groups_parallel_steps() -> None:
    runbook = next(rb for rb in load_all() if rb.id == "arc-traffic-shift")
    groups = plan(runbook, "eu-west-1", "eu-central-1")["groups"]
    assert [[s["id"] for s in g["steps"]] for g in groups] == [
        ["scale_ecs", "scale_asg"],
        ["approve"],
        ["switch"],
        ["dns_wait"],
    ]
    assert [g["parallel"] for g in groups] == [True, False, False, False]


def test_cli_plan_formats_and_errors() -> None:
    runner = CliRunner()
    arc = runner.invoke(
        app,
        [
            "runbook",
            "plan",
            "arc-traffic-shift",
            "--from",
            "eu-west-1",
            "--to",
            "eu-central-1",
            "--format",
            "arc",
        ],
    )
    assert isinstance(arc.exception, InputError)
    assert "needs --account" in str(arc.exception)
    arc = runner.invoke(
        app,
        [
            "runbook",
            "plan",
            "arc-traffic-shift",
            "--from",
            "eu-west-1",
            "--to",
            "eu-central-1",
            "--format",
            "arc",
            "--account",
            "111122223333",
        ],
    )
    assert arc.exit_code == 0, arc.output
    assert json.loads(arc.stdout)["primaryRegion"] == "eu-west-1"
    unknown = runner.invoke(
        app, ["runbook", "plan", "arc-traffic-shift", "--from", "eu-west-9", "--to", "eu-central-1"]
    )
    assert isinstance(unknown.exception, InputError)
    assert "unknown Region 'eu-west-9'" in str(unknown.exception)
    missing = runner.invoke(app, ["runbook", "show", "nope"])
    assert isinstance(missing.exception, InputError)


def test_failover_runbook_tool_returns_steps_in_order() -> None:
    from agentkit.agents.tools import builtin_registry

    registry = builtin_registry()
    out = registry.call(
        "failover_runbook",
        {
            "strategy": "warm_standby",
            "services": ["aurora"],
            "regions": {"source": "eu-west-1", "target": "eu-central-1"},
        },
    )
    books = out.output["runbooks"]
    assert "aurora-global-failover" in [b["id"] for b in books]
    for book in books:
        assert [s["order"] for s in book["steps"]] == list(range(1, len(book["steps"]) + 1))
        assert book["regions"]["source"] == "eu-west-1"
        assert not any("partition" in w for w in book["warnings"])


def test_rehearsal_pauses_at_each_gate_and_stops_on_rejection(tmp_path: Path) -> None:
    from agentkit.runbooks.rehearse import rehearse

    runbook = next(rb for rb in load_all() if rb.id == "aurora-global-failover")
    planned = plan(runbook, "us-east-1", "us-west-2")
    asked: list[dict[str, Any]] = []

    def approve(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request)
        return {"approved": True, "by": "ic"}

    done = rehearse(planned, approve)
    assert done["completed"] is True
    assert [e["step"] for e in done["timeline"]] == [
        "approve_failover",
        "fence_writes",
        "add_reader",
        "approve_data_loss",
        "failover",
        "confirm_writer",
        "point_app",
        "record_loss",
    ]
    assert asked == [
        {
            "step": "approve_failover",
            "title": planned["groups"][0]["steps"][0]["title"],
            "approval": "ic_go",
            "roles": ["incident-commander"],
        },
        {
            "step": "approve_data_loss",
            "title": planned["groups"][1]["steps"][2]["title"],
            "approval": "data_loss_go",
            "roles": ["incident-commander", "data-owner"],
        },
    ]
    answers = iter([True, False])
    stopped = rehearse(
        planned, lambda request: {"approved": next(answers), "by": "ic"}, thread_id="t2"
    )
    assert stopped["completed"] is False
    assert [e["status"] for e in stopped["timeline"]] == [
        "approved",
        "rehearsed",
        "rehearsed",
        "rejected",
    ]


def test_rehearse_cli_writes_evidence_and_exits_1_on_rejection(tmp_path: Path) -> None:
    runner = CliRunner()
    evidence = tmp_path / "evidence.json"
    ok = runner.invoke(
        app,
        [
            "runbook",
            "rehearse",
            "arc-traffic-shift",
            "--from",
            "us-east-1",
            "--to",
            "us-west-2",
            "--approve-all",
            "--evidence",
            str(evidence),
        ],
    )
    assert ok.exit_code == 0
    record = json.loads(evidence.read_text())
    assert record["completed"] is True
    assert record["sha256"] == next(rb for rb in load_all() if rb.id == "arc-traffic-shift").digest
    rejected = runner.invoke(
        app,
        ["runbook", "rehearse", "arc-traffic-shift", "--from", "us-east-1", "--to", "us-west-2"],
        input="n\n",
    )
    assert rejected.exit_code == 1
