"""``runbook validate --live``: the IAM and resource state a plan relies on, read from AWS.

For each step of a plan (forward and rollback steps), :data:`NEEDS` says in one place what the
step relies on: the IAM actions the operator's principal calls (each with the botocore service
and operation it comes from; tests check them against botocore's models), and a read-only probe
of the resource it acts on. The actions are simulated with ``iam:SimulatePrincipalPolicy`` for
the caller's principal (``sts:GetCallerIdentity``; an assumed-role session becomes its role) with
``aws:RequestedRegion`` set to the Region the step runs in: the source for ``run_in: source`` or
``deactivating``, else the target (the ARC export's ``regionToRun`` rule). A step type without an
entry, and a step without the identifier a probe needs, is reported ``not checked``, never as
passed. Nothing here changes anything on AWS, and no response body is printed (a Lambda
configuration carries environment variables; only names and states leave this module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agentkit.regions import profile_geography

Verdict = Literal["ok", "denied", "missing", "not checked"]
Clients = Callable[[str, str], Any]  # (botocore service, Region) -> client
Probe = Callable[[Clients, Mapping[str, Any], str, Sequence[Any]], list[tuple[str, Verdict, str]]]


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


def _a(iam: str, service: str, operation: str | None = None) -> Action:
    return Action(iam, service, operation or iam.split(":", 1)[1])


_VIA_OPS = "acts through agentkit ops or agentkit.yaml, not an AWS call of the operator"
_BEDROCK = Needs(probe=_bedrock_models, probe_in="target", why_no_iam=_VIA_OPS)

# One place: what each step type relies on. Source of every action: the botocore model of
# `service`, operation `operation` (tests/runbooks/test_live.py checks both against botocore and
# that the IAM prefix is the model's signingName).
NEEDS: Mapping[str, Needs] = {
    # rds FailoverGlobalCluster / SwitchoverGlobalCluster; the probe: DescribeGlobalClusters.
    "aurora.failover": Needs((_a("rds:FailoverGlobalCluster", "rds"),), _aurora_global, "target"),
    "aurora.switchover": Needs(
        (_a("rds:SwitchoverGlobalCluster", "rds"),), _aurora_global, "target"
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
    ),
    # lambda Invoke is authorised by lambda:InvokeFunction; the probe: GetFunctionConfiguration.
    "lambda.custom": Needs((_a("lambda:InvokeFunction", "lambda", "Invoke"),), _lambda_function),
    "scale.ecs": Needs((_a("ecs:UpdateService", "ecs"),), _ecs_service),
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


def step_region(step: Mapping[str, Any], source: str, target: str) -> str:
    """Where a step runs: the source for ``run_in: source|deactivating``, else the target (the
    activating Region), as the ARC export's ``regionToRun``."""
    return source if step.get("run_in") in ("source", "deactivating") else target


def principal_arn(caller_arn: str) -> str | None:
    """The ARN to simulate: a role for an assumed-role session, a user as is; None for a
    federated user (``SimulatePrincipalPolicy`` takes users, groups and roles). A role with a
    path is not recoverable from the session ARN (the path is not in it)."""
    parts = caller_arn.split(":", 5)
    if len(parts) != 6:
        return None
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        return f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
    if service == "iam" and resource.startswith(("user/", "role/")):
        return caller_arn
    return None


def plan_steps(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    forward = [s for group in plan["groups"] for s in group["steps"]]
    return [*forward, *plan.get("rollback_steps", [])]


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__


def _simulate(
    clients: Clients, principal: str, region: str, actions: Iterable[str]
) -> dict[str, str]:
    """``{action: EvalDecision}`` for ``actions`` requested in ``region`` (IAM is global; the
    Region is the ``aws:RequestedRegion`` context key)."""
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
    while True:
        page = client.simulate_principal_policy(**request)
        for result in page.get("EvaluationResults", []):
            decisions[str(result["EvalActionName"])] = str(result["EvalDecision"])
        if not page.get("IsTruncated"):
            return decisions
        request["Marker"] = page["Marker"]


def _iam_findings(
    clients: Clients, steps: list[dict[str, Any]], source: str, target: str
) -> list[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    identity = clients("sts", target).get_caller_identity()
    principal = principal_arn(str(identity["Arn"]))
    by_region: dict[str, set[str]] = {}
    for step in steps:
        needs = NEEDS.get(step["type"])
        if needs and needs.actions:
            region = step_region(step, source, target)
            by_region.setdefault(region, set()).update(a.iam for a in needs.actions)
    decided: dict[str, dict[str, str]] = {}
    failed: dict[str, str] = {}
    for region, actions in by_region.items():
        if principal is None:
            failed[region] = "the caller is not an IAM user or role session; cannot simulate"
            continue
        try:
            decided[region] = _simulate(clients, principal, region, actions)
        except (ClientError, BotoCoreError) as error:
            failed[region] = f"iam:SimulatePrincipalPolicy failed: {_error_code(error)}"
    out = []
    for step in steps:
        needs = NEEDS.get(step["type"])
        region = step_region(step, source, target)
        if step["type"] in _PEOPLE:
            continue
        if needs is None or not needs.actions:
            why = needs.why_no_iam if needs else f"no live check for {step['type']}"
            out.append(Finding("iam", step["id"], step["type"], region, "not checked", why))
            continue
        for action in needs.actions:
            if region in failed:
                verdict: Verdict = "not checked"
                reason = failed[region]
            else:
                decision = decided[region].get(action.iam, "not evaluated")
                verdict = "ok" if decision == "allowed" else "denied"
                reason = f"{decision} for {principal}"
            out.append(Finding(action.iam, step["id"], step["type"], region, verdict, reason))
    return out


def _resource_findings(
    clients: Clients,
    steps: list[dict[str, Any]],
    source: str,
    target: str,
    routes: Sequence[Any],
) -> list[Finding]:
    from botocore.exceptions import BotoCoreError, ClientError

    out = []
    for step in steps:
        kind, needs = step["type"], NEEDS.get(step["type"])
        region = step_region(step, source, target)
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
    """Every finding for ``plan``'s steps, in plan order: IAM first, then resources."""
    source, target = str(plan["regions"]["source"]), str(plan["regions"]["target"])
    steps = plan_steps(plan)
    return [
        *_iam_findings(clients, steps, source, target),
        *_resource_findings(clients, steps, source, target, routes),
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
    return "\n".join([*(line.rstrip() for line in lines), summary]) + "\n"


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
