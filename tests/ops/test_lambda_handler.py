"""The runbook action Lambda: the ARC export's payload, applied by the handler, is the document
the workers read (file and Redis backends, and AppConfig through botocore's ``Stubber``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from agentkit.config import load_config
from agentkit.errors import InputError
from agentkit.ops import OverrideView
from agentkit.ops.appconfig import OpsMisconfigured
from agentkit.ops.document import OpsError
from agentkit.ops.lambda_handler import NotAnOverride, handler
from agentkit.ops.steps import OpsAction, step_action
from agentkit.ops.store import open_store
from agentkit.runbooks import load_all, plan
from agentkit.runbooks.arc import ACTION_FUNCTION, ArcTarget, action_payload, to_arc_plan
from agentkit.runbooks.model import Runbook
from agentkit.runbooks.rules import in_region

from .appconfig_stubs import AppConfigStubs
from .conftest import Ticks

ACCOUNT = ArcTarget(account="111122223333")
ARC_METADATA = {
    "InvokedBy": "arc-region-switch",
    "PlanArn": "arn:aws:arc-region-switch::111122223333:plan/bedrock-region-evacuation:abc",
    "ExecutionId": "exec-1",
}
ROUTES = (
    "models:\n  residency: us\n  routes:\n"
    "    - {model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: us-east-1}\n"
    "    - {model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: us-west-2}\n"
)


def arc_event(payload: dict[str, Any], step: str) -> dict[str, Any]:
    """What Region switch invokes the function with: the payload, its metadata merged in."""
    return {**payload, **ARC_METADATA, "StepName": step}


def planned_steps(runbook: Runbook) -> list[dict[str, Any]]:
    """The runbook's steps, rollbacks included, with ``${source}``/``${target}`` filled as the
    plan (and the ARC export) fills them: us-east-1 -> us-west-2, the Regions of ``ROUTES``."""
    target = "us-east-1" if in_region(runbook) else "us-west-2"
    planned = plan(runbook, "us-east-1", target)
    return [s for g in planned["groups"] for s in g["steps"]] + planned["rollback_steps"]


def shipped_override_steps() -> list[tuple[str, dict[str, Any]]]:
    """Every step of the shipped runbooks (and their rollbacks) an override carries out."""
    return [
        (runbook.id, step)
        for runbook in load_all()
        for step in planned_steps(runbook)
        if step_action(step["type"], step.get("params", {})) is not None
    ]


def exported_payloads(runbook_id: str) -> dict[str, dict[str, Any]]:
    """Step id -> the payload of its custom action in the runbook's ARC export (none when the
    runbook has no Region switch plan)."""
    runbook = next(rb for rb in load_all() if rb.id == runbook_id)
    try:
        request = to_arc_plan(plan(runbook, "us-east-1", "us-west-2"), ACCOUNT)
    except InputError:
        return {}
    found = {}
    for top in request["workflows"][0]["steps"]:
        config = top["executionBlockConfiguration"]
        for block in config.get("parallelConfig", {}).get("steps", [top]):
            lambdas = block["executionBlockConfiguration"].get("customActionLambdaConfig")
            if lambdas:
                found[block["name"]] = json.loads(lambdas["lambdas"][0]["payload"])
    return found


def test_the_round_trip_reads_payloads_from_the_export() -> None:
    clamp = exported_payloads("bedrock-region-evacuation")["clamp_tokens"]
    assert clamp["ops"] == {"action": "set", "set": {"max_tokens": "1024"}}
    pin = exported_payloads("bedrock-region-evacuation")["geo_profile"]
    assert pin["ops"] == {"action": "set", "set": {"pin": "us-west-2"}}  # ${target}, filled
    route = exported_payloads("mcp-tool-outage")["route_alternate"]
    assert route["ops"] == {"action": "set", "set": {"tool.inventory": "inventory_fallback"}}
    trim = exported_payloads("quota-exhaustion")["trim_prompts"]
    assert trim["ops"] == {"action": "set", "set": {"max_tokens": "768"}}
    assert exported_payloads("agent-kill-switch") == {}  # acts in one Region: no ARC plan


@pytest.fixture
def file_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agentkit.yaml"
    path.write_text(ROUTES + f"ops: {{path: {tmp_path / 'ops.json'}}}\n")
    monkeypatch.setenv("AGENTKIT_CONFIG", str(path))
    return path


def worker_view(config: Path) -> OverrideView:
    return OverrideView(open_store(load_config(config, check_residency=False)), monotonic=Ticks())


def test_the_arc_export_sends_the_override_to_the_action_lambda_in_both_regions() -> None:
    runbook = next(rb for rb in load_all() if rb.id == "bedrock-region-evacuation")
    request = to_arc_plan(plan(runbook, "us-east-1", "us-west-2"), ACCOUNT)
    blocks = [
        block
        for step in request["workflows"][0]["steps"]
        for block in step["executionBlockConfiguration"]
        .get("parallelConfig", {})
        .get("steps", [step])
    ]
    clamp = next(b for b in blocks if b["name"] == "clamp_tokens")
    lambdas = clamp["executionBlockConfiguration"]["customActionLambdaConfig"]["lambdas"]
    assert [lam["arn"] for lam in lambdas] == [
        f"arn:aws:lambda:{region}:111122223333:function:{ACTION_FUNCTION}"
        for region in ("us-east-1", "us-west-2")
    ]
    payload = json.loads(lambdas[0]["payload"])
    assert payload["ops"] == {"action": "set", "set": {"max_tokens": "1024"}}


def test_the_handler_applies_the_exported_payload_to_the_document_workers_read(
    file_config: Path, tmp_path: Path
) -> None:
    runbook = next(rb for rb in load_all() if rb.id == "bedrock-region-evacuation")
    request = to_arc_plan(plan(runbook, "us-east-1", "us-west-2"), ACCOUNT)
    text = json.dumps(request)
    assert '\\"ops\\": {\\"action\\": \\"set\\", \\"set\\": {\\"max_tokens\\": \\"1024\\"}}' in text
    step = next(s for s in runbook.spec["steps"] if s["id"] == "clamp_tokens")
    result = handler(arc_event(action_payload(step), "clamp_tokens"), None)
    assert result["overrides"] == {"max_tokens": "1024"}
    assert result["by"] == "arc-region-switch:exec-1:clamp_tokens"
    assert worker_view(file_config).current().max_tokens == 1024
    (line,) = (tmp_path / "ops-audit.jsonl").read_text().splitlines()
    assert json.loads(line)["by"] == "arc-region-switch:exec-1:clamp_tokens"


@pytest.mark.parametrize(
    ("runbook_id", "step"),
    shipped_override_steps(),
    ids=[f"{rb}:{s['id']}" for rb, s in shipped_override_steps()],
)
def test_every_shipped_override_step_round_trips(
    runbook_id: str, step: dict[str, Any], file_config: Path
) -> None:
    """payload -> handler -> the document a worker reads: the step's override, and nothing
    else of the document changed."""
    before = {"kill_switch": "on", "max_tokens": "4096", "pin": "us-west-2"}
    store = open_store(load_config(file_config, check_residency=False))
    from agentkit.ops.store import change

    store.update(change(before, by="setup"))
    payload = exported_payloads(runbook_id).get(step["id"])  # what the ARC export carries
    if payload is None:  # in-Region runbooks and rollback steps have no Region switch block
        payload = json.loads(json.dumps(action_payload(step)))  # as ARC would hand it over
    action = OpsAction.from_json(payload["ops"])
    handler(arc_event(payload, step["id"]), None)
    expected = dict(before)
    if action.action == "set":
        expected.update(action.fields)
    for key in action.fields if action.action == "clear" else ():
        expected.pop(key, None)
    assert worker_view(file_config).current().fields() == expected


def test_the_shipped_runbooks_have_the_override_types_the_round_trip_covers() -> None:
    """All four overrides: kill switch, max_tokens clamp, route/profile pin, tool re-route."""
    keys = {
        key.split(".")[0]
        for _, step in shipped_override_steps()
        for key in step_action(step["type"], step.get("params", {})).fields  # type: ignore[union-attr]
    }
    assert keys == {"kill_switch", "max_tokens", "pin", "tool"}
    types = {step["type"] for _, step in shipped_override_steps()}
    assert {
        "agent.kill_switch",
        "bedrock.clamp_max_tokens",
        "bedrock.profile_switch",
        "bedrock.model_switch",
        "tool.route",
    } <= types


@pytest.mark.parametrize(
    ("runbook_id", "step_id"),
    [
        ("bedrock-region-evacuation", "geo_profile"),
        ("model-deprecation", "full"),
        ("model-deprecation", "back_to_legacy"),
        ("mcp-tool-outage", "route_alternate"),
        ("mcp-tool-outage", "route_primary"),
        ("agent-kill-switch", "kill"),
        ("agent-kill-switch", "revive"),
    ],
)
def test_the_steps_the_review_found_refused_now_apply_an_override(
    runbook_id: str, step_id: str
) -> None:
    assert step_id in {s["id"] for rb, s in shipped_override_steps() if rb == runbook_id}


@pytest.mark.parametrize(
    ("step_type", "params", "fields"),
    [
        ("bedrock.profile_switch", {"pin": "us-east-1"}, {"pin": "us-east-1"}),
        ("bedrock.model_switch", {"pin": "none"}, {}),
        ("tool.route", {"tool": "inventory", "to_tool": "inventory_cache"}, None),
    ],
)
def test_the_other_override_step_types_round_trip(
    step_type: str, params: dict[str, Any], fields: dict[str, str] | None, file_config: Path
) -> None:
    step = {"id": "s1", "type": step_type, "params": params}
    handler(arc_event(action_payload(step), "s1"), None)
    now = worker_view(file_config).current()
    if fields is None:
        assert now.tools == {"inventory": "inventory_cache"}
    else:
        assert now.fields() == fields


@pytest.mark.parametrize(
    ("event", "error", "says"),
    [
        (
            {"step": "shed_batch", "type": "manual", "params": {}},
            NotAnOverride,
            "no operator override carries it out; give the step a function param",
        ),
        ({"step": "x", "ops": {"action": "set", "set": {"max_tokens": "lots"}}}, OpsError, "max"),
        ({"step": "x", "ops": {"action": "drop"}}, OpsError, "expected"),
        (
            {"step": "x", "ops": {"action": "set", "set": {"pin": "eu-west-1"}}},
            OpsError,
            "no route",
        ),
    ],
)
def test_what_cannot_be_applied_fails_the_invocation(
    event: dict[str, Any], error: type[Exception], says: str, file_config: Path, tmp_path: Path
) -> None:
    with pytest.raises(error, match=says):
        handler(event, None)
    assert not (tmp_path / "ops.json").exists()  # nothing was changed


def test_redis_backend(
    redis_url: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text(ROUTES + f"ops: {{backend: redis, url: '{redis_url}', prefix: '{prefix}'}}\n")
    monkeypatch.setenv("AGENTKIT_CONFIG", str(path))
    kill = {"id": "kill", "type": "agent.kill_switch", "params": {"state": "on"}}
    handler(arc_event(action_payload(kill), "kill"), None)
    view = worker_view(path)
    try:
        assert view.current().kill_switch
        assert "arc-region-switch:exec-1:kill" in (view.current().set_by or "")
        revive = {"id": "revive", "type": "agent.kill_switch", "params": {"state": "off"}}
        handler(arc_event(action_payload(revive), "revive"), None)
        assert not view.refresh().active
    finally:
        view.close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AppConfigStubs]:
    stubs = AppConfigStubs()
    clients = {"appconfig": stubs.control, "appconfigdata": stubs.data}
    monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])
    yield stubs
    stubs.done()


def test_appconfig_backend(
    aws: AppConfigStubs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        ROUTES + "ops:\n  backend: appconfig\n"
        "  appconfig: {application: abc1234, environment: env5678, profile: prof901, "
        "region: us-east-1, deployment_strategy: imm0001}\n"
    )
    monkeypatch.setenv("AGENTKIT_CONFIG", str(path))
    runbook = next(rb for rb in load_all() if rb.id == "agent-kill-switch")
    kill = next(s for s in runbook.spec["steps"] if s["id"] == "kill")
    aws.reads(newest=None, deployed=None, doc={})
    aws.create(latest=None, new=1)
    aws.deploy(1)
    result = handler(arc_event(action_payload(kill), "kill"), None)
    assert result["overrides"] == {"kill_switch": "on"}
    assert aws.written()["overrides"] == {"kill_switch": "on"}
    aws.session("t0")
    aws.latest("t0", "t1", aws.written())
    now = worker_view(path).current()  # a worker reads the deployed version
    assert now.kill_switch
    assert now.set_by == "arc-region-switch:exec-1:kill"


def test_the_file_backend_on_lambda_fails_rather_than_change_the_containers_tmp(
    file_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "agentkit-runbook-action")
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "home"))
    kill = {"id": "kill", "type": "agent.kill_switch", "params": {"state": "on"}}
    with pytest.raises(OpsError, match=r"ops\.backend is file") as refused:
        handler(arc_event(action_payload(kill), "kill"), None)
    assert "set ops.backend to redis or appconfig" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "ops.json").exists()  # nothing was written anywhere


def test_appconfig_with_a_strategy_that_bakes_fails_the_invocation(
    aws: AppConfigStubs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AppConfig.AllAtOnce bakes 10 minutes: the plan's next step (or the rollback turning the
    kill switch off) would be refused meanwhile, so the step fails instead of going on."""
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        ROUTES + "ops:\n  backend: appconfig\n"
        "  appconfig: {application: abc1234, environment: env5678, profile: prof901, "
        "region: us-east-1, deployment_strategy: AppConfig.AllAtOnce}\n"
    )
    monkeypatch.setenv("AGENTKIT_CONFIG", str(path))
    aws.strategy(duration=0, bake=10, named="AppConfig.AllAtOnce")
    kill = {"id": "kill", "type": "agent.kill_switch", "params": {"state": "on"}}
    with pytest.raises(
        OpsMisconfigured, match=r"AppConfig\.AllAtOnce deploys over 0 min and bakes 10"
    ):
        handler(arc_event(action_payload(kill), "kill"), None)
    assert aws.created == []
