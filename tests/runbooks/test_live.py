"""``runbook validate --live`` against botocore's ``Stubber``: every request and response shape
is checked against botocore's models, and nothing leaves the process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError, UnauthorizedSSOTokenError
from botocore.stub import Stubber

from agentkit.cli.app import main
from agentkit.config import Route
from agentkit.errors import InputError
from agentkit.runbooks import live, load_all, plan
from agentkit.runbooks.live import NEEDS, assumed_role, principal_arn, validate_live

SOURCE, TARGET = "us-east-1", "us-west-2"
GLOBAL = "us-east-1"  # the aws partition's implicitGlobalRegion: where STS and IAM are called
ACCOUNT = "123456789012"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/dr-operator/alice"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/dr-operator"
# region-failover's steps all run in the target: fence_writes (lambda.custom), add_reader
# (aurora.add_instance), aurora_failover, ddb_write_home, s3_routes, scale_compute, and two
# routing controls; approvals and dns_wait are people's steps. The steps that name their
# resource are simulated on its ARN, one simulation each; the others together against *.
FENCE_ARN = f"arn:aws:lambda:{TARGET}:{ACCOUNT}:function:write-fence"
GLOBAL_CLUSTER_ARN = f"arn:aws:rds::{ACCOUNT}:global-cluster:orders-global"
SERVICE_ARN = f"arn:aws:ecs:{TARGET}:{ACCOUNT}:service/orders/api"
REGION_FAILOVER_SIMULATIONS: list[tuple[list[str], str | None]] = [  # *, then by ARN
    (
        sorted(
            {
                "rds:CreateDBInstance",
                "s3:SubmitMultiRegionAccessPointRoutes",
                "route53-recovery-cluster:UpdateRoutingControlState",
            }
        ),
        None,
    ),
    (["ecs:UpdateService"], SERVICE_ARN),
    (["lambda:InvokeFunction"], FENCE_ARN),
    (["rds:FailoverGlobalCluster"], GLOBAL_CLUSTER_ARN),
]


class Stubs:
    """One stubbed client per (service, Region); dummy credentials, never sent anywhere."""

    def __init__(self) -> None:
        self._session = boto3.session.Session(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret"
        )
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        assert key in self.clients, f"unexpected client {key}"
        return self.clients[key]

    def add(
        self,
        service: str,
        region: str,
        operation: str,
        response: dict[str, Any],
        params: dict[str, Any] | None = None,
    ) -> None:
        self._stubber(service, region).add_response(operation, response, params)

    def add_error(self, service: str, region: str, operation: str, code: str) -> None:
        self._stubber(service, region).add_client_error(
            operation, service_error_code=code, http_status_code=400
        )

    def _stubber(self, service: str, region: str) -> Stubber:
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = self._session.client(service, region_name=region)
            self.stubbers[key] = Stubber(self.clients[key])
            self.stubbers[key].activate()
        return self.stubbers[key]

    def done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def _identity(stubs: Stubs, *, role: str | None = ROLE_ARN, session: str = SESSION_ARN) -> None:
    """sts:GetCallerIdentity, then (``role``: the plan has IAM actions) iam:GetRole."""
    stubs.add(
        "sts",
        GLOBAL,
        "get_caller_identity",
        {"UserId": "AROAEXAMPLE:alice", "Account": ACCOUNT, "Arn": session},
    )
    if role is not None:
        _role(stubs, role, session.split("/")[1])


def _role(stubs: Stubs, arn: str, name: str) -> None:
    path = arn.split(":", 5)[5].removeprefix("role").rsplit("/", 1)[0] + "/"
    found = {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROAEXAMPLEEXAMPLE",
        "Arn": arn,
        "CreateDate": "2026-01-01T00:00:00Z",
    }
    stubs.add("iam", GLOBAL, "get_role", {"Role": found}, {"RoleName": name})


def _simulate(
    stubs: Stubs,
    actions: list[str],
    denied: frozenset[str] = frozenset(),
    region: str = TARGET,
    *,
    resource: str | None = None,
    principal: str = ROLE_ARN,
    decision: str = "implicitDeny",
) -> None:
    results = [
        {
            "EvalActionName": a,
            "EvalResourceName": resource or "*",
            "EvalDecision": decision if a in denied else "allowed",
        }
        for a in actions
    ]
    params: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": actions,
        "ContextEntries": [
            {
                "ContextKeyName": "aws:RequestedRegion",
                "ContextKeyValues": [region],
                "ContextKeyType": "string",
            }
        ],
    }
    if resource is not None:
        params["ResourceArns"] = [resource]
    stubs.add(
        "iam",
        region,
        "simulate_principal_policy",
        {"EvaluationResults": results, "IsTruncated": False},
        params,
    )


def _simulate_region_failover(stubs: Stubs, denied: frozenset[str] = frozenset()) -> None:
    for actions, resource in REGION_FAILOVER_SIMULATIONS:
        _simulate(stubs, actions, denied, resource=resource)


def _region_failover_resources(stubs: Stubs, *, aurora_member_in: str = TARGET) -> None:
    stubs.add(
        "lambda",
        TARGET,
        "get_function_configuration",
        {"FunctionName": "write-fence", "State": "Active"},
        {"FunctionName": "write-fence"},
    )
    members = [
        {
            "DBClusterArn": f"arn:aws:rds:{SOURCE}:{ACCOUNT}:cluster:orders-{SOURCE}",
            "IsWriter": True,
        }
    ]
    if aurora_member_in:
        arn = f"arn:aws:rds:{aurora_member_in}:{ACCOUNT}:cluster:orders-{aurora_member_in}"
        members.append({"DBClusterArn": arn, "IsWriter": False})
    stubs.add(
        "rds",
        TARGET,
        "describe_global_clusters",
        {
            "GlobalClusters": [
                {"GlobalClusterIdentifier": "orders-global", "GlobalClusterMembers": members}
            ]
        },
        {"GlobalClusterIdentifier": "orders-global"},
    )
    stubs.add(
        "dynamodb",
        TARGET,
        "describe_table",
        {
            "Table": {
                "TableName": "carts",
                "TableStatus": "ACTIVE",
                "Replicas": [{"RegionName": SOURCE, "ReplicaStatus": "ACTIVE"}],
            }
        },
        {"TableName": "carts"},
    )
    stubs.add(
        "ecs",
        TARGET,
        "describe_services",
        {"services": [{"serviceName": "api", "status": "ACTIVE"}], "failures": []},
        {"cluster": "orders", "services": ["api"]},
    )


class FakeSession:
    """What the CLI asks of a boto3 session: credentials, and clients (here: the stubs)."""

    def __init__(self, stubs: Stubs | None) -> None:
        self.stubs = stubs

    def get_credentials(self) -> object | None:
        return object() if self.stubs else None

    def client(self, service: str, region_name: str, config: Any = None) -> Any:
        assert self.stubs is not None
        return self.stubs(service, region_name)


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    made = Stubs()
    yield made
    made.done()


LIVE = ["runbook", "validate", "region-failover", "--live", "--from", SOURCE, "--to", TARGET]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    """The console entry point, in process: exit code and the two streams."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out = capsys.readouterr()
    return Run(int(stop.value.code or 0), out.out, out.err)


def _cli(
    stubs: Stubs | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> Run:
    monkeypatch.setattr(live, "default_session", lambda: FakeSession(stubs))
    return _main(capsys, *LIVE, *extra)


def test_every_action_allowed_and_resources_present_exits_0(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs)
    _simulate_region_failover(stubs)
    _region_failover_resources(stubs)
    result = _cli(stubs, monkeypatch, capsys, "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is True
    verdicts = {(f["check"], f["step"]): f["verdict"] for f in body["findings"]}
    assert verdicts[("rds:FailoverGlobalCluster", "aurora_failover")] == "ok"
    assert verdicts[("aurora global cluster orders-global", "aurora_failover")] == "ok"
    assert verdicts[("dynamodb global table carts", "ddb_write_home")] == "ok"
    assert verdicts[("lambda function write-fence", "fence_writes")] == "ok"
    assert verdicts[("ecs service orders/api", "scale_compute")] == "ok"
    assert {f["region"] for f in body["findings"]} == {TARGET, "-"}  # "-": a person's step


def test_a_denied_action_exits_1_naming_the_step_and_action(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs)
    _simulate_region_failover(stubs, denied=frozenset({"rds:FailoverGlobalCluster"}))
    _region_failover_resources(stubs)
    result = _cli(stubs, monkeypatch, capsys)
    assert result.exit_code == 1, result.stderr
    denied = [line for line in result.stdout.splitlines() if " denied " in line]
    assert len(denied) == 1
    assert "rds:FailoverGlobalCluster" in denied[0]
    assert "aurora_failover" in denied[0]
    assert f"implicitDeny for {ROLE_ARN}" in denied[0]


def test_a_resource_missing_in_the_target_exits_1(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs)
    _simulate_region_failover(stubs)
    _region_failover_resources(
        stubs, aurora_member_in=""
    )  # the global cluster has no member in us-west-2
    result = _cli(stubs, monkeypatch, capsys, "--json")
    assert result.exit_code == 1, result.stderr
    missing = [f for f in json.loads(result.stdout)["findings"] if f["verdict"] == "missing"]
    assert missing == [
        {
            "check": "aurora global cluster orders-global",
            "step": "aurora_failover",
            "type": "aurora.failover",
            "region": TARGET,
            "verdict": "missing",
            "reason": f"no member orders-{TARGET} in {TARGET}",
        }
    ]


def test_a_table_absent_in_the_target_is_missing(stubs: Stubs) -> None:
    stubs.add_error("dynamodb", TARGET, "describe_table", "ResourceNotFoundException")
    plan = _plan(
        {"id": "home", "type": "ddb.evacuate", "run_in": "source", "params": {"table": "carts"}}
    )
    _identity(stubs, role=None)
    findings = validate_live(plan, stubs)
    resource = [f for f in findings if f.check.startswith("dynamodb")]
    assert [(f.verdict, f.region, f.reason) for f in resource] == [
        ("missing", TARGET, f"no table carts in {TARGET}")
    ]


def test_unchecked_step_types_are_reported_not_checked_never_ok(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs)
    _simulate_region_failover(stubs)
    _region_failover_resources(stubs)
    body = json.loads(_cli(stubs, monkeypatch, capsys, "--json").stdout)
    by_step: dict[str, list[tuple[str, str]]] = {}
    for f in body["findings"]:
        by_step.setdefault(f["step"], []).append((f["check"], f["verdict"]))
    # s3.mrap_routes and aurora.add_instance: IAM checked, resource not; ddb.evacuate: no IAM
    assert ("resource", "not checked") in by_step["s3_routes"]
    assert ("resource", "not checked") in by_step["add_reader"]
    assert ("iam", "not checked") in by_step["ddb_write_home"]
    assert by_step["dns_wait"] == [("-", "not checked")]
    for f in body["findings"]:
        if f["verdict"] == "not checked":
            assert f["reason"]


def test_a_step_without_an_identifier_is_not_checked(stubs: Stubs) -> None:
    _identity(stubs)
    _simulate(stubs, ["lambda:InvokeFunction"])
    plan = _plan({"id": "custom", "type": "lambda.custom", "params": {}})
    findings = validate_live(plan, stubs)
    assert [(f.check, f.verdict, f.reason) for f in findings] == [
        ("lambda:InvokeFunction", "ok", f"allowed for {ROLE_ARN}"),
        ("lambda function", "not checked", "no identifier (function param)"),
    ]


def test_a_bedrock_route_checks_its_profile_in_the_target(stubs: Stubs) -> None:
    profile = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    _identity(stubs, role=None)
    stubs.add_error("bedrock", TARGET, "get_inference_profile", "ResourceNotFoundException")
    routes = [Route(model=profile, region=TARGET), Route(model=profile, region=SOURCE)]
    plan = _plan({"id": "switch", "type": "bedrock.model_switch", "params": {"to": "successor"}})
    findings = validate_live(plan, stubs, routes)
    assert [(f.check, f.verdict) for f in findings] == [
        ("iam", "not checked"),
        (f"bedrock inference profile {profile}", "missing"),
    ]


def test_a_read_or_simulation_refused_is_not_checked_never_a_pass(stubs: Stubs) -> None:
    _identity(stubs)
    stubs.add_error("iam", TARGET, "simulate_principal_policy", "AccessDenied")
    stubs.add_error("secretsmanager", TARGET, "describe_secret", "AccessDeniedException")
    step = {"id": "promote", "type": "secrets.promote_replica", "params": {"secret": "db"}}
    findings = validate_live(_plan(step), stubs)
    assert [(f.check, f.verdict, f.reason) for f in findings] == [
        (
            "secretsmanager:StopReplicationToReplica",
            "not checked",
            "iam:SimulatePrincipalPolicy failed: AccessDenied",
        ),
        ("secrets.promote_replica", "not checked", "could not read: AccessDeniedException"),
    ]
    assert not live.failed(findings)


def test_a_secret_replica_in_the_target_is_ok(stubs: Stubs) -> None:
    _identity(stubs)
    _simulate(stubs, ["secretsmanager:StopReplicationToReplica"])
    stubs.add(
        "secretsmanager",
        TARGET,
        "describe_secret",
        {"Name": "db", "PrimaryRegion": SOURCE},
        {"SecretId": "db"},
    )
    step = {"id": "promote", "type": "secrets.promote_replica", "params": {"secret": "db"}}
    findings = validate_live(_plan(step), stubs)
    assert [(f.check, f.verdict) for f in findings] == [
        ("secretsmanager:StopReplicationToReplica", "ok"),
        ("secret replica db", "ok"),
    ]


def test_a_region_switch_plan_is_found_by_name_across_pages(stubs: Stubs) -> None:
    _identity(stubs)
    _simulate(stubs, ["arc-region-switch:StartPlanExecution"])
    summary = {
        "owner": ACCOUNT,
        "version": "1",
        "recoveryApproach": "activePassive",
        "regions": [SOURCE, TARGET],
    }
    other = {
        **summary,
        "arn": "arn:aws:arc-region-switch::123456789012:plan/other",
        "name": "other",
    }
    mine = {**summary, "arn": "arn:aws:arc-region-switch::123456789012:plan/app", "name": "app"}
    stubs.add("arc-region-switch", TARGET, "list_plans", {"plans": [other], "nextToken": "t1"}, {})
    stubs.add("arc-region-switch", TARGET, "list_plans", {"plans": [mine]}, {"nextToken": "t1"})
    step = {"id": "switch", "type": "arc.region_switch_plan", "run_in": "activating"}
    findings = validate_live(_plan({**step, "params": {"plan": "app"}}), stubs)
    assert [(f.check, f.verdict, f.reason) for f in findings][1:] == [
        ("region switch plan app", "ok", f"app includes {TARGET}")
    ]


def test_without_credentials_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # tests/conftest.py leaves botocore no credential source, so the real session finds none
    result = _main(capsys, *LIVE)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "agentkit: error: no AWS credentials found: configure AWS credentials or drop --live"
    ]


def test_live_needs_from(capsys: pytest.CaptureFixture[str]) -> None:
    result = _main(capsys, "runbook", "validate", "region-failover", "--live")
    assert result.exit_code == 2
    assert "--from" in result.stderr


def test_a_session_is_a_role_a_user_is_itself_a_federated_user_none() -> None:
    assert assumed_role(SESSION_ARN) == "dr-operator"
    assert principal_arn(SESSION_ARN) is None  # its role's ARN comes from iam:GetRole
    assert principal_arn(f"arn:aws:iam::{ACCOUNT}:user/bob") == f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert principal_arn(f"arn:aws:sts::{ACCOUNT}:federated-user/carol") is None


def test_every_action_comes_from_a_botocore_operation() -> None:
    session = botocore.session.get_session()
    for step_type, needs in NEEDS.items():
        for action in needs.actions:
            model = session.get_service_model(action.service)
            assert action.operation in model.operation_names, (step_type, action)
            prefix = action.iam.split(":", 1)[0]
            assert prefix == model.signing_name, (step_type, action)


SSO_ROLE = "AWSReservedSSO_DrOperator_0123456789abcdef"
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice"
SSO_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"


def test_an_sso_session_is_simulated_as_its_role_with_the_path_from_get_role(
    stubs: Stubs,
) -> None:
    # IAM Identity Center roles live under /aws-reserved/sso.amazonaws.com/: the session ARN
    # has no path, so the role's ARN comes from iam:GetRole.
    _identity(stubs, role=SSO_ROLE_ARN, session=SSO_SESSION)
    _simulate(stubs, ["rds:CreateDBInstance"], principal=SSO_ROLE_ARN)
    findings = validate_live(_plan({"id": "add", "type": "aurora.add_instance"}), stubs)
    assert [(f.check, f.verdict, f.reason) for f in findings][:1] == [
        ("rds:CreateDBInstance", "ok", f"allowed for {SSO_ROLE_ARN}")
    ]


def test_get_role_refused_every_iam_row_not_checked_and_the_summary_warns(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs, role=None)
    stubs.add_error("iam", GLOBAL, "get_role", "AccessDenied")
    _region_failover_resources(stubs)
    result = _cli(stubs, monkeypatch, capsys)
    assert result.exit_code == 0, result.stderr  # nothing denied or missing: exit 0, but loud
    rows = [line for line in result.stdout.splitlines() if line.startswith(("rds:", "ecs:"))]
    assert rows
    assert all("iam:GetRole failed for role dr-operator: AccessDenied" in r for r in rows)
    last = result.stdout.splitlines()[-1]
    assert last.startswith("WARNING: none of the 7 IAM action check(s) could be made")
    assert "not a pass" in last


def test_get_role_refused_json_carries_the_warning(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _identity(stubs, role=None)
    stubs.add_error("iam", GLOBAL, "get_role", "AccessDenied")
    _region_failover_resources(stubs)
    body = json.loads(_cli(stubs, monkeypatch, capsys, "--json").stdout)
    assert body["ok"] is True
    assert [w.split(":")[0] for w in body["warnings"]] == ["WARNING"]


def test_an_expired_token_is_one_line_and_exit_2(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs.add_error("sts", GLOBAL, "get_caller_identity", "ExpiredToken")
    result = _cli(stubs, monkeypatch, capsys)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"agentkit: error: cannot read your identity (sts:GetCallerIdentity in {GLOBAL}): "
        "ExpiredToken: refresh your AWS credentials (aws sso login, or a new session) and "
        f"check that {GLOBAL} is enabled for the account"
    ]


class _Refusing:
    """A client whose every call raises ``error`` (botocore errors a Stubber cannot queue)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_caller_identity(self) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "fix"),
    [
        (UnauthorizedSSOTokenError(), "UnauthorizedSSOTokenError", "refresh your AWS credentials"),
        (
            EndpointConnectionError(endpoint_url=f"https://sts.{GLOBAL}.amazonaws.com/"),
            "EndpointConnectionError",
            f"check the network and that {GLOBAL} is enabled",
        ),
    ],
)
def test_a_credential_or_connection_problem_is_a_user_error(
    error: Exception, code: str, fix: str
) -> None:
    plan = _plan({"id": "add", "type": "aurora.add_instance"})
    with pytest.raises(InputError) as raised:
        validate_live(plan, lambda service, region: _Refusing(error))
    assert f"): {code}: {fix}" in str(raised.value)


def test_a_policy_scoped_to_the_global_cluster_is_allowed_on_its_arn(stubs: Stubs) -> None:
    # Allowed only on the global cluster's ARN: against * it would be an implicitDeny.
    _identity(stubs)
    _simulate(stubs, ["rds:FailoverGlobalCluster"], resource=GLOBAL_CLUSTER_ARN)
    step = {"id": "fail", "type": "aurora.failover", "params": {"global_cluster": "orders-global"}}
    stubs.add_error("rds", TARGET, "describe_global_clusters", "AccessDenied")
    findings = validate_live(_plan(step), stubs)
    assert [(f.check, f.verdict, f.reason) for f in findings][:1] == [
        ("rds:FailoverGlobalCluster", "ok", f"allowed for {ROLE_ARN} on {GLOBAL_CLUSTER_ARN}")
    ]


def test_implicit_deny_against_star_is_not_checked_explicit_deny_is_denied(stubs: Stubs) -> None:
    _identity(stubs)
    _simulate(stubs, ["rds:CreateDBInstance"], frozenset({"rds:CreateDBInstance"}))
    _simulate(
        stubs,
        ["rds:CreateDBInstance"],
        frozenset({"rds:CreateDBInstance"}),
        SOURCE,
        decision="explicitDeny",
    )
    steps = [
        {"id": "here", "type": "aurora.add_instance"},
        {"id": "there", "type": "aurora.add_instance", "run_in": "source"},
    ]
    findings = validate_live(_plan(*steps), stubs)
    iam = [(f.step, f.verdict, f.reason) for f in findings if f.check == "rds:CreateDBInstance"]
    assert iam == [
        (
            "here",
            "not checked",
            f"implicitDeny for {ROLE_ARN} against * (resource-scoped policy?): "
            "the step names no resource ARN",
        ),
        ("there", "denied", f"explicitDeny for {ROLE_ARN}"),
    ]
    assert live.failed(findings)


def test_resource_arns_carry_the_regions_partition(stubs: Stubs) -> None:
    source, target = "cn-north-1", "cn-northwest-1"  # aws-cn; cn-northwest-1 is its global Region
    stubs.add(
        "sts",
        target,
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws-cn:iam::{ACCOUNT}:user/bob"},
    )
    function = f"arn:aws-cn:lambda:{target}:{ACCOUNT}:function:write-fence"
    stubs.add(
        "iam",
        target,
        "simulate_principal_policy",
        {"EvaluationResults": [], "IsTruncated": False},
        {
            "PolicySourceArn": f"arn:aws-cn:iam::{ACCOUNT}:user/bob",
            "ActionNames": ["lambda:InvokeFunction"],
            "ContextEntries": [
                {
                    "ContextKeyName": "aws:RequestedRegion",
                    "ContextKeyValues": [target],
                    "ContextKeyType": "string",
                }
            ],
            "ResourceArns": [function],
        },
    )
    stubs.add_error("lambda", target, "get_function_configuration", "AccessDeniedException")
    step = {"id": "fence", "type": "lambda.custom", "params": {"function": "write-fence"}}
    plan = {"regions": {"source": source, "target": target}, "groups": [{"steps": [step]}]}
    validate_live(plan, stubs)


def test_a_rollback_step_activating_runs_in_the_source(stubs: Stubs) -> None:
    # arc-traffic-shift's switch_back (run_in: activating) activates the source again.
    planned = plan(_find("arc-traffic-shift"), SOURCE, TARGET)
    regions = {step["id"]: region for step, region in live.placed_steps(planned)}
    assert (regions["switch"], regions["switch_back"]) == (TARGET, SOURCE)
    _identity(stubs)
    _simulate(stubs, ["arc-region-switch:StartPlanExecution"], region=SOURCE)
    back = {"id": "switch_back", "type": "arc.region_switch_plan", "run_in": "activating"}
    findings = validate_live({**_plan(), "rollback_steps": [back]}, stubs)
    assert [(f.check, f.region, f.verdict) for f in findings][:1] == [
        ("arc-region-switch:StartPlanExecution", SOURCE, "ok")
    ]


def _find(runbook_id: str) -> Any:
    return next(r for r in load_all() if r.id == runbook_id)


def _plan(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"regions": {"source": SOURCE, "target": TARGET}, "groups": [{"steps": list(steps)}]}
