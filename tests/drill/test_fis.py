"""`agentkit drill export --format fis`: the FIS template and the SSM document validate against
botocore's models, every stop condition is an alarm the observe export creates, the deny names
only the primary Region, the roles are scoped, the document always removes the deny, and the
output folder is written whole or not at all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.validate import ParamValidator

import agentkit.fsutil
from agentkit.cli.app import main
from agentkit.config import AgentkitConfig, load_config
from agentkit.drill import fis
from agentkit.drill.export import build_files
from agentkit.drill.validate import check_request
from agentkit.errors import ConfigError, InputError
from agentkit.observe.cloudformation import build_template
from agentkit.runbooks import load_all

RUNBOOKS = load_all()
ROLE = "arn:aws:iam::123456789012:role/service-role/agentkit-worker"
FILES = {
    "README.md",
    "deny-policy.json",
    "fis-experiment-role.policy.json",
    "fis-experiment-role.trust.json",
    "fis-experiment-template.json",
    "ssm-automation-document.json",
    "ssm-automation-role.policy.json",
    "ssm-automation-role.trust.json",
    "ssm-create-document.json",
    "drill-stack.json",
}
READ_ONLY = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$")


def _config(
    tmp_path: Path, drill: str = f"drill: {{role_arn: '{ROLE}'}}\n", extra: str = ""
) -> Path:
    path = tmp_path / "agentkit.yaml"
    path.write_text(extra + drill)
    return path


def _plan(
    tmp_path: Path, drill: str | None = None, extra: str = "", duration_s: int = 600
) -> fis.Drill:
    path = _config(tmp_path, drill, extra) if drill is not None else _config(tmp_path, extra=extra)
    return fis.plan(load_config(path, check_residency=False), RUNBOOKS, duration_s)


@pytest.fixture
def drill(tmp_path: Path) -> fis.Drill:
    return _plan(tmp_path)


@pytest.fixture
def files(drill: fis.Drill) -> dict[str, Any]:
    return {
        name: json.loads(text) if name.endswith(".json") else text
        for name, text in build_files(drill).items()
    }


# --- botocore's models ---------------------------------------------------------------------------


def _botocore_input(service: str, operation: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).input_shape


def test_the_api_inputs_validate_against_botocores_fis_and_ssm_models(
    files: dict[str, Any],
) -> None:
    template = files["fis-experiment-template.json"]
    document = files["ssm-create-document.json"]
    for params, service, operation in (
        (template, "fis", "CreateExperimentTemplate"),
        (document, "ssm", "CreateDocument"),
    ):
        report = ParamValidator().validate(params, _botocore_input(service, operation))
        assert not report.has_errors(), report.generate_report()
        assert check_request(service, operation, params) == []
    action = template["actions"]["deny-bedrock-us-east-1"]
    assert action["actionId"] == "aws:ssm:start-automation-execution"
    assert action["parameters"]["documentArn"].endswith(":document/" + document["Name"])
    assert json.loads(document["Content"]) == files["ssm-automation-document.json"]
    assert document["DocumentType"] == "Automation"
    assert template["tags"]["agentkit:drill"] == "bedrock-region-deny"


@pytest.mark.parametrize(
    ("service", "operation", "change", "expected"),
    [
        ("fis", "CreateExperimentTemplate", {"description": "x" * 513}, "maximum 512"),
        ("fis", "CreateExperimentTemplate", {"roleArn": None}, "roleArn"),
        ("fis", "CreateExperimentTemplate", {"stopConditions": [{"value": "a" * 30}]}, "source"),
        ("ssm", "CreateDocument", {"DocumentType": "Runbook"}, "not one of"),
        ("ssm", "CreateDocument", {"Name": "has space"}, "does not match"),
    ],
)
def test_the_check_finds_what_the_service_would_refuse(
    files: dict[str, Any], service: str, operation: str, change: dict[str, Any], expected: str
) -> None:
    name = "fis-experiment-template.json" if service == "fis" else "ssm-create-document.json"
    params = {k: v for k, v in {**files[name], **change}.items() if v is not None}
    problems = check_request(service, operation, params)
    assert any(expected in problem for problem in problems), problems


def test_fis_action_parameters_carry_no_whitespace_and_outlast_the_deny(
    files: dict[str, Any], drill: fis.Drill
) -> None:
    parameters = files["fis-experiment-template.json"]["actions"]["deny-bedrock-us-east-1"][
        "parameters"
    ]
    assert all(re.search(r"\s", value) is None for value in parameters.values())
    passed = json.loads(parameters["documentParameters"])
    declared = files["ssm-automation-document.json"]["parameters"]
    assert set(passed) == set(declared)
    for key, value in passed.items():  # every value the FIS action passes is one the doc allows
        assert value in declared[key].get("allowedValues", [value])
    assert passed["Duration"] == "PT10M"
    assert parameters["maxDuration"] == "PT15M"


# --- stop conditions ---------------------------------------------------------------------------


def _exported_alarm_names(config: AgentkitConfig) -> set[str]:
    template = build_template(config, RUNBOOKS)
    return {
        resource["Properties"]["AlarmName"]
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
    }


def test_every_stop_condition_is_an_alarm_the_observe_export_creates(
    tmp_path: Path, files: dict[str, Any]
) -> None:
    exported = _exported_alarm_names(load_config(_config(tmp_path), check_residency=False))
    conditions = files["fis-experiment-template.json"]["stopConditions"]
    names = []
    for condition in conditions:
        assert condition["source"] == "aws:cloudwatch:alarm"
        match = re.fullmatch(
            r"arn:aws:cloudwatch:us-east-1:123456789012:alarm:(?P<name>.+)", condition["value"]
        )
        assert match is not None, condition
        names.append(match["name"])
    assert names == ["agent-answer-success-rate", "agent-p99-latency"]
    assert set(names) <= exported


def test_stop_alarms_can_be_chosen_among_the_exported_ones_only(tmp_path: Path) -> None:
    chosen = f"drill: {{role_arn: '{ROLE}', stop_alarms: [tool-breaker-open]}}\n"
    assert _plan(tmp_path, chosen).stop_alarms == ("tool-breaker-open",)
    wrong = f"drill: {{role_arn: '{ROLE}', stop_alarms: [agent-success, tool-breaker-open]}}\n"
    with pytest.raises(ConfigError, match=r"agent-success is not an alarm agentkit observe"):
        _plan(tmp_path, wrong)


# --- the deny ----------------------------------------------------------------------------------


def test_the_deny_names_the_primary_region_only(files: dict[str, Any]) -> None:
    policy = files["deny-policy.json"]
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == ["bedrock:InvokeModel*", "bedrock:Converse*"]
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}
    text = json.dumps(policy)
    assert re.findall(r"[a-z]{2}(?:-gov)?-[a-z]+-\d", text) == ["us-east-1"]


def test_the_drill_region_can_be_another_routes_region(tmp_path: Path) -> None:
    drill = _plan(tmp_path, f"drill: {{role_arn: '{ROLE}', region: us-west-2}}\n")
    condition = fis.deny_policy(drill)["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:RequestedRegion": ["us-west-2"]}}
    assert drill.fallback_routes[0].endswith("@us-east-1")
    assert fis.experiment_template_input(drill)["stopConditions"][0]["value"].startswith(
        "arn:aws:cloudwatch:us-west-2:123456789012:alarm:"
    )


def test_fallback_profiles_that_route_into_the_denied_region_are_named(tmp_path: Path) -> None:
    default = _plan(tmp_path)
    assert [r.route for r in default.reached] == list(default.fallback_routes)  # us. profiles
    assert all("us-east-1" in r.destinations for r in default.reached)
    in_region = (
        "models:\n  routes:\n"
        "    - {model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: us-east-1}\n"
        "    - {model: anthropic.claude-sonnet-4-5-20250929-v1:0, region: us-west-2}\n"
    )
    drill = _plan(tmp_path, extra=in_region)
    assert drill.reached == ()
    readme = build_files(drill)["README.md"]
    assert "the deny reaches only the routes above" in readme


# --- least privilege ---------------------------------------------------------------------------


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**s, "Action": [s["Action"]] if isinstance(s["Action"], str) else s["Action"]}
        for s in policy["Statement"]
    ]


def test_the_roles_are_scoped_to_the_one_role_policy_document_and_alarms(
    files: dict[str, Any], drill: fis.Drill
) -> None:
    policies = [files["ssm-automation-role.policy.json"], files["fis-experiment-role.policy.json"]]
    for statement in (s for p in policies for s in _statements(p)):
        assert statement["Effect"] == "Allow"
        if statement["Resource"] == "*":  # only reads may be unscoped
            assert all(READ_ONLY.match(action) for action in statement["Action"]), statement
    (attach,) = _statements(files["ssm-automation-role.policy.json"])
    assert sorted(attach["Action"]) == ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    assert attach["Resource"] == ROLE
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": drill.policy_arn}}
    by_action = {
        a: s for s in _statements(files["fis-experiment-role.policy.json"]) for a in s["Action"]
    }
    assert set(by_action) == {
        "ssm:StartAutomationExecution",
        "ssm:GetAutomationExecution",
        "ssm:StopAutomationExecution",
        "iam:PassRole",
        "cloudwatch:DescribeAlarms",
    }
    assert by_action["ssm:StartAutomationExecution"]["Resource"] == (
        "arn:aws:ssm:us-east-1:123456789012:automation-definition/"
        "agentkit-drill-bedrock-deny-us-east-1:$DEFAULT"
    )
    passing = by_action["iam:PassRole"]
    assert passing["Resource"] == "arn:aws:iam::123456789012:role/agentkit-drill-ssm-automation"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
    for name, service in (("ssm-automation-role", "ssm"), ("fis-experiment-role", "fis")):
        (trust,) = files[f"{name}.trust.json"]["Statement"]
        assert trust["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    document = files["ssm-automation-document.json"]["parameters"]
    assert document["TargetRoleName"]["allowedValues"] == ["agentkit-worker"]
    assert document["DenyPolicyArn"]["allowedValues"] == [drill.policy_arn]


# --- the document always removes the deny ----------------------------------------------------


def _run(document: dict[str, Any], outcome: dict[str, str]) -> tuple[bool, list[str]]:
    """Walk the automation as SSM does: each step succeeds unless ``outcome`` says it fails
    or is cancelled; return whether the deny is attached at the end, and the path."""
    steps = {step["name"]: step for step in document["mainSteps"]}
    attached, path = False, []
    name: str | None = document["mainSteps"][0]["name"]
    while name is not None:
        step = steps[name]
        path.append(name)
        result = outcome.get(name, "ok")
        api = step["inputs"].get("Api")
        if result == "ok" and api == "AttachRolePolicy":
            attached = True
        if result == "ok" and api == "DetachRolePolicy":
            attached = False
        if result == "ok":
            name = None if step.get("isEnd") else step["nextStep"]
            continue
        on = step.get("onFailure" if result == "fail" else "onCancel", "Abort")
        name = on.removeprefix("step:") if on.startswith("step:") else None
    return attached, path


@pytest.mark.parametrize(
    "outcome",
    [
        {},
        {"HoldDeny": "cancel"},  # FIS stopped the experiment: a stop alarm fired
        {"HoldDeny": "fail"},
        {"AttachDenyPolicy": "cancel"},
        {"AttachDenyPolicy": "fail"},
    ],
)
def test_the_automation_removes_the_deny_on_every_path(
    files: dict[str, Any], outcome: dict[str, str]
) -> None:
    document = files["ssm-automation-document.json"]
    assert document["schemaVersion"] == "0.3"
    attached, path = _run(document, outcome)
    assert not attached
    assert path[-1] == "DetachDenyPolicy"
    detach = document["mainSteps"][-1]
    assert detach["isEnd"]
    assert detach["isCritical"]
    assert detach["maxAttempts"] >= 2


# --- the same drill as one CloudFormation stack ----------------------------------------------


def test_the_stack_holds_the_same_documents(files: dict[str, Any], drill: fis.Drill) -> None:
    resources = files["drill-stack.json"]["Resources"]
    assert resources["DenyPolicy"]["Properties"]["PolicyDocument"] == files["deny-policy.json"]
    automation = resources["AutomationRole"]["Properties"]
    assert automation["RoleName"] == drill.automation_role
    assert automation["Policies"][0]["PolicyDocument"] == files["ssm-automation-role.policy.json"]
    experiment = resources["ExperimentRole"]["Properties"]
    assert experiment["Policies"][0]["PolicyDocument"] == files["fis-experiment-role.policy.json"]
    document = resources["Document"]["Properties"]
    assert document["Content"] == files["ssm-automation-document.json"]
    fis_template = resources["ExperimentTemplate"]["Properties"]
    api_template = files["fis-experiment-template.json"]
    assert [c["Value"] for c in fis_template["StopConditions"]] == [
        c["value"] for c in api_template["stopConditions"]
    ]
    (action,) = fis_template["Actions"].values()
    (api_action,) = api_template["actions"].values()
    assert action["Parameters"] == api_action["parameters"]
    assert action["ActionId"] == "aws:ssm:start-automation-execution"


def test_the_stack_passes_cfn_lint_and_every_iam_action_exists(files: dict[str, Any]) -> None:
    from cfnlint import api  # the dev extra: CI lints, never skips

    found = api.lint(
        json.dumps(files["drill-stack.json"]), config=api.ManualArgs(regions=["us-east-1"])
    )
    serious = [m for m in found if m.rule.id[0] in "EW"]
    # cfn-lint checks IAM actions against AWS's list: the one it does not know is
    # bedrock:Converse*, kept on purpose (Converse is authorized as bedrock:InvokeModel today)
    assert [(m.rule.id, "converse*" in str(m)) for m in serious] == [("W3037", True)], [
        str(m)[:200] for m in serious
    ]


# --- durations and configuration mistakes -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "iso"),
    [
        ("10m", 600, "PT10M"),
        ("90s", 90, "PT1M30S"),
        ("1h30m", 5400, "PT1H30M"),
        ("2H", 7200, "PT2H"),
    ],
)
def test_durations(text: str, seconds: int, iso: str) -> None:
    assert fis.parse_duration(text) == seconds
    assert fis.iso_duration(seconds) == iso


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "30s", "12h"])
def test_durations_outside_what_fis_runs_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--duration"):
        fis.parse_duration(text)


def test_configuration_mistakes_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no route calls eu-west-1"):
        _plan(tmp_path, f"drill: {{role_arn: '{ROLE}', region: eu-west-1}}\n")
    one_region = "models:\n  routes:\n    - {model: amazon.nova-pro-v1:0, region: us-east-1}\n"
    with pytest.raises(ConfigError, match="add a route in another Region"):
        _plan(tmp_path, extra=one_region)
    china = "drill: {role_arn: 'arn:aws-cn:iam::123456789012:role/agent'}\n"
    with pytest.raises(ConfigError, match="aws-cn"):
        _plan(tmp_path, china)


# --- the command -------------------------------------------------------------------------------


def _export(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["drill", "export", *args])
    return int(exited.value.code or 0)


def test_the_command_writes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "drill"
    code = _export(["-c", str(_config(tmp_path)), "--duration", "15m", "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.iterdir()} == FILES
    template = json.loads((out / "fis-experiment-template.json").read_text())
    parameters = template["actions"]["deny-bedrock-us-east-1"]["parameters"]
    assert json.loads(parameters["documentParameters"])["Duration"] == "PT15M"
    readme = (out / "README.md").read_text()
    assert "agent-answer-success-rate" in readme
    assert "aws fis start-experiment" in readme
    assert "agentkit.gateway.routes_disabled" in readme
    assert "read " in capsys.readouterr().err


def test_without_a_drill_section_one_line_exit_2_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agentkit.yaml"
    config.write_text("limits: {max_tokens: 512}\n")
    out = tmp_path / "drill"
    assert _export(["-c", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no drill: section" in err
    assert "role_arn" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_bad_role_arn_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "drill:\n  role_arn: agentkit-worker\n")
    assert _export(["-c", str(config), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "role_arn" in err
    assert "not an IAM role ARN" in err
    assert ":2" in err


def test_a_failed_export_leaves_the_previous_folder_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "drill"
    assert _export(["-c", str(_config(tmp_path)), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a configuration mistake: refused before anything is written
    wrong = _config(tmp_path, f"drill: {{role_arn: '{ROLE}', stop_alarms: [nope]}}\n")
    assert _export(["-c", str(wrong), "--out", str(out)]) == 2
    # a write that breaks halfway through the new set
    written = []

    def failing_write(fd: int, data: str | bytes) -> None:
        written.append(fd)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        original(fd, data)

    original = agentkit.fsutil._write_fd
    monkeypatch.setattr(agentkit.fsutil, "_write_fd", failing_write)
    longer = ["-c", str(_config(tmp_path)), "--duration", "20m", "--out", str(out)]
    assert _export(longer) != 0
    assert len(written) == 3
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".drill")] == []
    capsys.readouterr()
