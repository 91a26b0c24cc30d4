"""``runbook validate --live``: the IAM and resource state a plan relies on, read from AWS.

For each step of a plan (forward and rollback steps), :data:`NEEDS` says in one place what the
step relies on: the IAM actions the operator's principal calls (each with the botocore service
and operation it comes from; tests check them against botocore's models), the ARN of the resource
they act on when the step names it, and a read-only probe of that resource. The actions are
simulated with ``iam:SimulatePrincipalPolicy`` for the caller's principal
(``sts:GetCallerIdentity``; an assumed-role session becomes its role, whose ARN with its path
comes from ``iam:GetRole``: IAM Identity Center roles live under ``/aws-reserved/``) with
``aws:RequestedRegion`` set to the Region the step runs in (:func:`step_region`). An
``implicitDeny`` against ``*`` (no resource ARN known) may be a policy scoped to resources, so it
is ``not checked``; with the resource's ARN it is ``denied``, as is every ``explicitDeny``. A step
type without an entry, and a step without the identifier a probe needs, is reported
``not checked``, never as passed. Nothing here changes anything on AWS, and no response body is
printed (a Lambda configuration carries environment variables; only names and states leave this
module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agentkit.errors import InputError
from agentkit.regions import partition_of, profile_geography

Verdict = Literal["ok", "denied", "missing", "not checked"]
Clients = Callable[[str, str], Any]  # (botocore service, Region) -> client
Probe = Callable[[Clients, Mapping[str, Any], str, Sequence[Any]], list[tuple[str, Verdict, str]]]
ArnOf = Callable[[Mapping[str, Any], str, str], str | None]  # (params, Region, account) -> ARN


@dataclass(frozen=True)
class Action:
    """An IAM action and the botocore operation it authorises (its source)."""

    iam: str
    service: str
    operation: str


@dataclass(frozen=True)
class Finding:
    check: str
    step: str
    type: str
    region: str
    verdict: Verdict
    reason: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Needs:
    actions: tuple[Action, ...] = ()
    probe: Probe | None = None
    probe_in: Literal["step", "target"] = "step"  # where the resource must exist
    why_no_iam: str = "agentkit has no IAM table entry for this step type"
    arn: ArnOf | None = None  # the resource the actions act on, when the params name it


class _NotFound(Exception):
    """The probe's resource does not exist (its service's not-found error)."""


_NOT_FOUND = frozenset(
    {
        "GlobalClusterNotFoundFault",  # rds DescribeGlobalClusters
        "ResourceNotFoundException",  # dynamodb, secretsmanager, lambda, bedrock
        "ClusterNotFoundException",  # ecs DescribeServices
    }
)


def _call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        return dict(getattr(client, operation)(**kwargs))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
            raise _NotFound from error
        raise


def _aurora_global(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    name, member = params.get("global_cluster"), params.get("target_cluster")
    label = f"aurora global cluster {name}"
    if not name:
        return [("aurora global cluster", "not checked", "no identifier (global_cluster param)")]
    try:
        found = _call(
            clients("rds", region), "describe_global_clusters", GlobalClusterIdentifier=str(name)
        )
    except _NotFound:
        return [(label, "missing", f"no global cluster {name} (seen from {region})")]
    arns = [
        str(m.get("DBClusterArn", ""))
        for c in found.get("GlobalClusters", [])
        for m in c.get("GlobalClusterMembers", [])
    ]
    here = [a for a in arns if a.split(":")[3:4] == [region]]
    if member:
        here = [a for a in here if a.endswith(f":cluster:{member}")]
    if not here:
        wanted = f"member {member}" if member else "member"
        return [(label, "missing", f"no {wanted} in {region}")]
    return [(label, "ok", f"member {here[0].rsplit(':', 1)[-1]} in {region}")]


def _dynamodb_replica(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    table = params.get("table")
    if not table:
        return [("dynamodb global table", "not checked", "no identifier (table param)")]
    label = f"dynamodb global table {table}"
    try:
        found = _call(clients("dynamodb", region), "describe_table", TableName=str(table))
    except _NotFound:
        return [(label, "missing", f"no table {table} in {region}")]
    described = found.get("Table", {})
    if not described.get("Replicas"):
        return [(label, "missing", f"{table} in {region} is not a global table replica")]
    return [(label, "ok", f"replica in {region}, {described.get('TableStatus', 'status unknown')}")]


def _secret_replica(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    secret = params.get("secret")
    if not secret:
        return [("secret replica", "not checked", "no identifier (secret param)")]
    label = f"secret replica {secret}"
    try:
        found = _call(clients("secretsmanager", region), "describe_secret", SecretId=str(secret))
    except _NotFound:
        return [(label, "missing", f"no secret {secret} in {region}")]
    primary = found.get("PrimaryRegion")
    if not primary or primary == region:
        return [(label, "missing", f"{secret} in {region} is not a replica")]
    return [(label, "ok", f"replica in {region} of the secret in {primary}")]


def _lambda_function(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    function = params.get("function")
    if not function:
        return [("lambda function", "not checked", "no identifier (function param)")]
    label = f"lambda function {function}"
    try:  # the configuration holds environment variables: only State is read
        found = _call(
            clients("lambda", region), "get_function_configuration", FunctionName=str(function)
        )
    except _NotFound:
        return [(label, "missing", f"no function {function} in {region}")]
    return [(label, "ok", f"in {region}, {found.get('State', 'state unknown')}")]


def _ecs_service(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    cluster, service = params.get("cluster"), params.get("service")
    if not (cluster and service):
        return [("ecs service", "not checked", "no identifier (cluster/service params)")]
    label = f"ecs service {cluster}/{service}"
    try:
        found = _call(
            clients("ecs", region),
            "describe_services",
            cluster=str(cluster),
            services=[str(service)],
        )
    except _NotFound:
        return [(label, "missing", f"no cluster {cluster} in {region}")]
    services = found.get("services", [])
    if not services:
        return [(label, "missing", f"no service {service} in cluster {cluster} in {region}")]
    status = str(services[0].get("status", ""))
    verdict: Verdict = "ok" if status == "ACTIVE" else "missing"
    return [(label, verdict, f"{status or 'no status'} in {region}")]


def _region_switch_plan(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    name = params.get("plan")
    if not name:
        return [("region switch plan", "not checked", "no identifier (plan param)")]
    label = f"region switch plan {name}"
    client = clients("arc-region-switch", region)
    request: dict[str, Any] = {}
    while True:
        page = _call(client, "list_plans", **request)
        for found in page.get("plans", []):
            if found.get("name") == name:
                if region not in found.get("regions", []):
                    return [(label, "missing", f"{name} does not include {region}")]
                return [(label, "ok", f"{name} includes {region}")]
        if not page.get("nextToken"):
            return [(label, "missing", f"no plan named {name} (listed from {region})")]
        request = {"nextToken": page["nextToken"]}


def _bedrock_models(
    clients: Clients, params: Mapping[str, Any], region: str, routes: Sequence[Any]
) -> list[tuple[str, Verdict, str]]:
    models = list(dict.fromkeys(str(r.model) for r in routes if r.region == region))
    if not models:
        return [("bedrock model", "not checked", f"no identifier (no route in {region})")]
    out: list[tuple[str, Verdict, str]] = []
    client = clients("bedrock", region)
    for model in models:
        profile = profile_geography(model) is not None
        label = f"bedrock {'inference profile' if profile else 'model'} {model}"
        try:
            if profile:
                _call(client, "get_inference_profile", inferenceProfileIdentifier=model)
            else:
                _call(client, "get_foundation_model", modelIdentifier=model)
        except _NotFound:
            out.append((label, "missing", f"not available in {region}"))
            continue
        out.append((label, "ok", f"available in {region}"))
    return out


def _arn(service: str, region: str, account: str, resource: str) -> str:
    """An ARN in ``region``'s partition (botocore's partition data, as the ARC export builds
    them)."""
    return f"arn:{partition_of(region)}:{service}:{region}:{account}:{resource}"


def _global_cluster_arn(params: Mapping[str, Any], region: str, account: str) -> str | None:
    # A global cluster's ARN has no Region (Aurora User Guide, "Constructing an ARN for Amazon
    # RDS": arn:aws:rds::<account>:global-cluster:<name>); the partition is the step Region's.
    name = params.get("global_cluster")
    if not name:
        return None
    return f"arn:{partition_of(region)}:rds::{account}:global-cluster:{name}"


def _function_arn(params: Mapping[str, Any], region: str, account: str) -> str | None:
    function = str(params.get("function") or "")
    if function.startswith("arn:"):
        return function
    return _arn("lambda", region, account, f"function:{function}") if function else None


def _service_arn(params: Mapping[str, Any], region: str, account: str) -> str | None:
    cluster, service = params.get("cluster"), params.get("service")
    if not (cluster and service):
        return None
    return _arn("ecs", region, account, f"service/{cluster}/{service}")


def _secret_arn(params: Mapping[str, Any], region: str, account: str) -> str | None:
    # A secret's ARN ends in a random suffix: only an ARN given as the param is known.
    secret = str(params.get("secret") or "")
    return secret if secret.startswith("arn:") else None


def _a(iam: str, service: str, operation: str | None = None) -> Action:
    return Action(iam, service, operation or iam.split(":", 1)[1])


_VIA_OPS = "acts through agentkit ops or agentkit.yaml, not an AWS call of the operator"
_BEDROCK = Needs(probe=_bedrock_models, probe_in="target", why_no_iam=_VIA_OPS)

# One place: what each step type relies on. Source of every action: the botocore model of
# `service`, operation `operation` (tests/runbooks/test_live.py checks both against botocore and
# that the IAM prefix is the model's signingName).
NEEDS: Mapping[str, Needs] = {
    # rds FailoverGlobalCluster / SwitchoverGlobalCluster; the probe: DescribeGlobalClusters.
    "aurora.failover": Needs(
        (_a("rds:FailoverGlobalCluster", "rds"),),
        _aurora_global,
        "target",
        arn=_global_cluster_arn,
    ),
    "aurora.switchover": Needs(
        (_a("rds:SwitchoverGlobalCluster", "rds"),),
        _aurora_global,
        "target",
        arn=_global_cluster_arn,
    ),
    "aurora.add_instance": Needs((_a("rds:CreateDBInstance", "rds"),)),
    "rds.promote_replica": Needs((_a("rds:PromoteReadReplica", "rds"),)),
    # The write-home flag is the application's; the probe: dynamodb DescribeTable.
    "ddb.evacuate": Needs(
        probe=_dynamodb_replica,
        probe_in="target",
        why_no_iam="the write home is the application's flag, not an AWS call",
    ),
    "secrets.promote_replica": Needs(
        (_a("secretsmanager:StopReplicationToReplica", "secretsmanager"),),
        _secret_replica,
        "target",
        arn=_secret_arn,
    ),
    # lambda Invoke is authorised by lambda:InvokeFunction; the probe: GetFunctionConfiguration.
    "lambda.custom": Needs(
        (_a("lambda:InvokeFunction", "lambda", "Invoke"),), _lambda_function, arn=_function_arn
    ),
    "scale.ecs": Needs((_a("ecs:UpdateService", "ecs"),), _ecs_service, arn=_service_arn),
    "scale.asg": Needs((_a("autoscaling:UpdateAutoScalingGroup", "autoscaling"),)),
    "elasticache.failover_global": Needs(
        (_a("elasticache:FailoverGlobalReplicationGroup", "elasticache"),)
    ),
    "arc.routing_control": Needs(
        (_a("route53-recovery-cluster:UpdateRoutingControlState", "route53-recovery-cluster"),)
    ),
    # arc-region-switch StartPlanExecution; the probe: ListPlans (a plan of that name covers
    # the target Region).
    "arc.region_switch_plan": Needs(
        (_a("arc-region-switch:StartPlanExecution", "arc-region-switch"),),
        _region_switch_plan,
        "target",
    ),
    "arc.zonal_shift": Needs((_a("arc-zonal-shift:StartZonalShift", "arc-zonal-shift"),)),
    "route53.change_record": Needs((_a("route53:ChangeResourceRecordSets", "route53"),)),
    # s3control's signingName is s3.
    "s3.mrap_routes": Needs((_a("s3:SubmitMultiRegionAccessPointRoutes", "s3control"),)),
    "drs.start_recovery": Needs((_a("drs:StartRecovery", "drs"),)),
    "backup.restore": Needs((_a("backup:StartRestoreJob", "backup"),)),
    # bedrock-agent's signingName is bedrock.
    "kb.sync": Needs((_a("bedrock:StartIngestionJob", "bedrock-agent"),)),
    "bedrock.model_switch": _BEDROCK,
    "bedrock.profile_switch": _BEDROCK,
    "bedrock.model_fallback": _BEDROCK,
}
_PEOPLE = frozenset({"approval", "manual"})
_ACTIONS = frozenset(a.iam for needs in NEEDS.values() for a in needs.actions)


def step_region(
    step: Mapping[str, Any], source: str, target: str, *, rollback: bool = False
) -> str:
    """Where a step runs. ``run_in: source`` and ``target`` name a Region; ``deactivating`` and
    ``activating`` (or nothing) name a role, as the ARC export's ``regionToRun``
    (:func:`agentkit.runbooks.arc._custom`: deactivating runs in the deactivating Region, anything
    else in the activating one). The forward plan activates the target; a rollback step undoes
    the move, so it activates the source (arc-traffic-shift's ``switch_back``) and deactivates
    the target."""
    run_in = step.get("run_in")
    if run_in in ("source", "target"):
        return source if run_in == "source" else target
    activating, deactivating = (source, target) if rollback else (target, source)
    return deactivating if run_in == "deactivating" else activating


def assumed_role(caller_arn: str) -> str | None:
    """The role name of an assumed-role session ARN (which has no role path), else None."""
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        return parts[5].split("/")[1]
    return None


def principal_arn(caller_arn: str) -> str | None:
    """An IAM user or role ARN as is; None otherwise (a role session: :func:`assumed_role`; a
    federated user: ``SimulatePrincipalPolicy`` takes users, groups and roles)."""
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith(("user/", "role/")):
        return caller_arn
    return None


def placed_steps(plan: Mapping[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every step (forward, then rollback) with the Region it runs in."""
    source, target = str(plan["regions"]["source"]), str(plan["regions"]["target"])
    forward = [s for group in plan["groups"] for s in group["steps"]]
    return [
        *((s, step_region(s, source, target)) for s in forward),
        *(
            (s, step_region(s, source, target, rollback=True))
            for s in plan.get("rollback_steps", [])
        ),
    ]


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__


def _global_region(region: str) -> str:
    """The partition's ``implicitGlobalRegion`` (botocore's partition data): where STS and IAM
    are called, so an opt-in Region that is not enabled does not fail the identity call."""
    from botocore.loaders import create_loader

    partition = partition_of(region)
    for entry in create_loader().load_data("partitions")["partitions"]:
        if entry["id"] == partition:
            return str(entry["outputs"].get("implicitGlobalRegion") or region)
    return region


def _caller(clients: Clients, region: str) -> dict[str, Any]:
    """``sts:GetCallerIdentity``; a credential or connection problem is the user's to fix."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.exceptions import ConnectionError as NoConnection

    try:
        return dict(clients("sts", region).get_caller_identity())
    except (ClientError, BotoCoreError) as error:
        fix = (
            f"check the network and that {region} is enabled for the account"
            if isinstance(error, NoConnection)
            else f"refresh your AWS credentials (aws sso login, or a new session) and check "
            f"that {region} is enabled for the account"
        )
        raise InputError(
            f"cannot read your identity (sts:GetCallerIdentity in {region}): "
            f"{_error_code(error)}: {fix}"
        ) from error


def _principal(clients: Clients, caller_arn: str, region: str) -> tuple[str | None, str]:
    """The ARN to simulate, or None and why not. A role session's role ARN comes from
    ``iam:GetRole``: the session ARN has no path (IAM Identity Center roles are under
    ``/aws-reserved/sso.amazonaws.com/``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    role = assumed_role(caller_arn)
    if role is not None:
        try:
            return str(clients("iam", region).get_role(RoleName=role)["Role"]["Arn"]), ""
        except (ClientError, BotoCoreError) as error:
            return None, (
                f"iam:GetRole failed for role {role}: {_error_code(error)} (its ARN, with its "
                "path, is needed to simulate it: allow iam:GetRole on it)"
            )
    arn = principal_arn(caller_arn)
    if arn is None:
        return None, "the caller is not an IAM user or role session; cannot simulate"
    return arn, ""


def _simulate(
    clients: Clients, principal: str, region: str, actions: Iterable[str], resource: str | None
) -> dict[str, str]:
    """``{action: EvalDecision}`` for ``actions`` requested in ``region`` (IAM is global; the
    Region is the ``aws:RequestedRegion`` context key), on ``resource`` (else ``*``)."""
    names = sorted(set(actions))
    client = clients("iam", region)
    decisions: dict[str, str] = {}
    request: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": names,
        "ContextEntries": [
            {
                "ContextKeyName": "aws:RequestedRegion",
                "ContextKeyValues": [region],
                "ContextKeyType": "string",
            }
        ],
    }
    if resource is not None:
        request["ResourceArns"] = [resource]
    while True:
        page = client.simulate_principal_policy(**request)
        for result in page.get("EvaluationResults", []):
            decisions[str(result["EvalActionName"])] = str(result["EvalDecision"])
        if not page.get("IsTruncated"):
            return decisions
        request["Marker"] = page["Marker"]


def _judge(decision: str, principal: str, resource: str | None) -> tuple[Verdict, str]:
    if decision == "allowed":
        return "ok", f"allowed for {principal}" + (f" on {resource}" if resource else "")
    if decision == "implicitDeny" and resource is None:
        # Against *, a policy allowing the action on named resources only is an implicitDeny.
        return "not checked", (
            f"implicitDeny for {principal} against * (resource-scoped policy?): "
            "the step names no resource ARN"
        )
    return "denied", f"{decision} for {principal}" + (f" on {resource}" if resource else "")


def _resource_of(step: Mapping[str, Any], region: str, account: str) -> str | None:
    """The ARN of the resource the step's actions act on, when its params name it."""
    arn_of = NEEDS[step["type"]].arn
    return arn_of(step.get("params", {}), region, account) if arn_of else None


def _iam_findings(
    clients: Clients, placed: list[tuple[dict[str, Any], str]], home: str
) -> list[Finding]:
    """One simulation per Region for the steps without a resource ARN (against ``*``), and one
    per step that names its resource (``Needs.arn``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    identity = _caller(clients, home)  # first: a credential problem stops here (exit 2)
    account = str(identity.get("Account", ""))
    units: dict[tuple[str, str | None], set[str]] = {}
    for step, region in placed:
        calls = NEEDS[step["type"]].actions if step["type"] in NEEDS else ()
        if calls:
            unit = (region, _resource_of(step, region, account))
            units.setdefault(unit, set()).update(a.iam for a in calls)
    principal, why_not = None, ""
    if units:
        principal, why_not = _principal(clients, str(identity["Arn"]), home)
    decided: dict[tuple[str, str | None], dict[str, str]] = {}
    failed: dict[tuple[str, str | None], str] = {}
    for unit in sorted(units, key=lambda u: (u[0], u[1] or "")):  # by Region, * first
        actions = units[unit]
        if principal is None:
            failed[unit] = why_not
            continue
        try:
            decided[unit] = _simulate(clients, principal, unit[0], actions, unit[1])
        except (ClientError, BotoCoreError) as error:
            failed[unit] = f"iam:SimulatePrincipalPolicy failed: {_error_code(error)}"
    out = []
    for step, region in placed:
        needs = NEEDS.get(step["type"])
        if step["type"] in _PEOPLE:
            continue
        if needs is None or not needs.actions:
            why = needs.why_no_iam if needs else f"no live check for {step['type']}"
            out.append(Finding("iam", step["id"], step["type"], region, "not checked", why))
            continue
        resource = _resource_of(step, region, account)
        unit = (region, resource)
        for action in needs.actions:
            verdict: Verdict
            if unit in failed:
                verdict, reason = "not checked", failed[unit]
            else:
                decision = decided[unit].get(action.iam, "not evaluated")
                verdict, reason = _judge(decision, str(principal), resource)
            out.append(Finding(action.iam, step["id"], step["type"], region, verdict, reason))
    return out


def _resource_findings(
    clients: Clients,
    placed: list[tuple[dict[str, Any], str]],
    target: str,
    routes: Sequence[Any],
) -> list[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    out = []
    for step, region in placed:
        kind, needs = step["type"], NEEDS.get(step["type"])
        if kind in _PEOPLE:
            out.append(Finding("-", step["id"], kind, "-", "not checked", "a person's step"))
            continue
        if needs is None or needs.probe is None:
            reason = f"no resource check for {kind}"
            out.append(Finding("resource", step["id"], kind, region, "not checked", reason))
            continue
        where = target if needs.probe_in == "target" else region
        try:
            results = needs.probe(clients, step.get("params", {}), where, routes)
        except (ClientError, BotoCoreError) as error:
            reason = f"could not read: {_error_code(error)}"
            out.append(Finding(kind, step["id"], kind, where, "not checked", reason))
            continue
        out += [Finding(c, step["id"], kind, where, v, r) for c, v, r in results]
    return out


def validate_live(
    plan: Mapping[str, Any], clients: Clients, routes: Sequence[Any] = ()
) -> list[Finding]:
    """Every finding for ``plan``'s steps, in plan order: IAM first, then resources. A credential
    or connection problem reading the caller's identity raises :class:`InputError`."""
    target = str(plan["regions"]["target"])
    placed = placed_steps(plan)
    return [
        *_iam_findings(clients, placed, _global_region(target)),
        *_resource_findings(clients, placed, target, routes),
    ]


def warnings(findings: Sequence[Finding]) -> list[str]:
    """What the summary must say aloud: no IAM action could be checked (exit 0, not a pass)."""
    iam = [f for f in findings if f.check in _ACTIONS]
    if not iam or any(f.verdict != "not checked" for f in iam):
        return []
    reason, _ = Counter(f.reason for f in iam).most_common(1)[0]
    return [
        f"WARNING: none of the {len(iam)} IAM action check(s) could be made, so the plan's "
        f"permissions are unverified (not a pass): {reason}"
    ]


def failed(findings: Iterable[Finding]) -> bool:
    return any(f.verdict in ("denied", "missing") for f in findings)


def render_table(findings: Sequence[Finding]) -> str:
    rows = [("check", "step", "region", "verdict", "reason")]
    rows += [(f.check, f.step, f.region, f.verdict, f.reason) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
    counts = Counter(f.verdict for f in findings)
    summary = ", ".join(f"{counts[v]} {v}" for v in ("ok", "denied", "missing", "not checked"))
    return "\n".join([*(line.rstrip() for line in lines), summary, *warnings(findings)]) + "\n"


def session_clients(session: Any) -> Clients:
    """Clients from a boto3 session, one per service and Region, with bounded timeouts."""
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 3})
    built: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        key = (service, region)
        if key not in built:
            built[key] = session.client(service, region_name=region, config=config)
        return built[key]

    return client


def default_session() -> Any:
    """The session ``--live`` uses (the standard credential chain; tests replace it)."""
    from agentkit.bedrock.clients import session_without_imds

    return session_without_imds()
