"""An architecture from a Terraform plan (the JSON of ``terraform show -json PLAN``).

Resources of known types become components (``aws_rds_cluster`` -> aurora, ``aws_dynamodb_table``
with replicas -> dynamodb-global, ...); helper resources fold into the component they configure
(an ``aws_s3_bucket_replication_configuration`` adds the destination bucket's Region to the
source bucket's replicas, an ``aws_rds_cluster_instance`` counts towards its cluster's AZs, an
alarm lists ``alarms`` on the resource it watches). References between resources become
``depends_on``. Each resource's Region comes from its own ``region`` value (AWS provider 6), else
from its provider configuration (``aws.failover``), else from the plan's variables. Anything else
is listed as not modelled, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.errors import InputError
from agentkit.fmea.model import Architecture, Catalog, architecture_from
from agentkit.yamlsource import YamlDocument, read_json

MAX_PLAN_BYTES = 64 * 1024 * 1024
_INDEX = re.compile(r"\[[^\]]*\]")
_NOT_ID = re.compile(r"[^A-Za-z0-9_.-]+")

# Resource type -> component kind.
KINDS = {
    "aws_db_instance": "rds",
    "aws_rds_cluster": "aurora",
    "aws_rds_global_cluster": "aurora-global",
    "aws_dynamodb_table": "dynamodb",
    "aws_s3_bucket": "s3",
    "aws_lambda_function": "lambda",
    "aws_lb": "alb",
    "aws_alb": "alb",
    "aws_route53_health_check": "route53",
    "aws_api_gateway_rest_api": "apigateway",
    "aws_apigatewayv2_api": "apigateway",
    "aws_ecs_service": "ecs",
    "aws_eks_cluster": "eks",
    "aws_instance": "ec2",
    "aws_elasticache_replication_group": "elasticache",
    "aws_bedrockagent_agent": "bedrock-agent",
    "aws_bedrockagent_knowledge_base": "knowledge-base",
    "aws_bedrock_guardrail": "guardrail",
    "aws_sfn_state_machine": "step-functions",
    "aws_sqs_queue": "sqs",
    "aws_sns_topic": "sns",
    "aws_cloudwatch_event_bus": "eventbridge",
    "aws_kms_key": "kms",
    "aws_secretsmanager_secret": "secrets-manager",
    "aws_cognito_user_pool": "cognito",
    "aws_cloudfront_distribution": "cloudfront",
    "aws_opensearchserverless_collection": "opensearch-serverless",
    "aws_opensearch_domain": "opensearch",
    "aws_bedrockagentcore_agent_runtime": "agentcore-runtime",
    "aws_bedrockagentcore_gateway": "agentcore-gateway",
    "aws_bedrockagentcore_memory": "agentcore-memory",
}
# Resource types that configure another resource: folded into it (see _fold), never listed.
FOLDED = frozenset(
    {
        "aws_rds_cluster_instance",
        "aws_s3_bucket_replication_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_object_lock_configuration",
        "aws_route53_record",
        "aws_route53_zone",
        "aws_lb_target_group",
        "aws_lb_listener",
        "aws_lb_target_group_attachment",
        "aws_bedrockagent_agent_action_group",
        "aws_bedrockagent_agent_alias",
        "aws_bedrockagent_data_source",
        "aws_bedrockagent_agent_knowledge_base_association",
        "aws_cloudwatch_metric_alarm",
        "aws_kms_replica_key",
        "aws_kms_alias",
        "aws_lambda_permission",
        "aws_lambda_provisioned_concurrency_config",
        "aws_cloudwatch_event_rule",
        "aws_cloudwatch_event_target",
        "aws_sqs_queue_redrive_policy",
        "aws_secretsmanager_secret_version",
        "aws_fis_experiment_template",
        "aws_iam_role",
        "aws_iam_policy",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_opensearchserverless_security_policy",
        "aws_opensearchserverless_access_policy",
    }
)


@dataclass
class _Resource:
    address: str  # module.primary.aws_s3_bucket.uploads[0]
    type: str
    values: dict[str, Any]
    region: str | None
    references: set[str]  # addresses (no index, no attribute) this resource refers to
    configured: frozenset[str] = frozenset()  # attributes set in the configuration
    expressions: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Builder:
    resources: dict[str, _Resource]
    components: dict[str, dict[str, Any]] = field(default_factory=dict)  # by config address
    owner: dict[str, str] = field(default_factory=dict)  # folded address -> component address
    workload_controls: set[str] = field(default_factory=set)
    by_base: dict[str, _Resource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for address, resource in self.resources.items():
            self.by_base.setdefault(_base(address), resource)

    def add(self, resource: _Resource, kind: str, **attributes: Any) -> None:
        component: dict[str, Any] = {"id": _component_id(resource.address), "kind": kind}
        if resource.region:
            component["regions"] = [resource.region]
        component.update(attributes)
        self.components[_base(resource.address)] = component

    def component_for(self, address: str) -> dict[str, Any] | None:
        base = _base(address)
        return self.components.get(self.owner.get(base, base))

    def mitigate(self, component: dict[str, Any] | None, control: str) -> None:
        if component is not None and control not in component.setdefault("mitigations", []):
            component["mitigations"].append(control)

    def extend(self, component: dict[str, Any] | None, key: str, values: list[str]) -> None:
        if component is None:
            return
        for value in values:
            if value and value not in component.setdefault(key, []):
                component[key].append(value)


def architecture_from_plan(
    path: Path, catalog: Catalog
) -> tuple[Architecture, list[dict[str, str]]]:
    """The architecture a plan describes, and the resources it does not model."""
    plan = read_json(path, InputError, MAX_PLAN_BYTES)
    if not isinstance(plan, dict) or not isinstance(plan.get("planned_values"), dict):
        raise InputError(
            f"{path}: not the JSON of a Terraform plan (terraform show -json): no planned_values"
        )
    resources = _resources(plan)
    builder = _Builder(resources)
    unknown: list[dict[str, str]] = []
    for resource in resources.values():
        kind = KINDS.get(resource.type)
        if kind is not None:
            attributes = _attributes(resource)
            builder.add(resource, attributes.pop("kind", kind), **attributes)
        elif resource.type not in FOLDED:
            unknown.append({"address": resource.address, "type": resource.type})
    for resource in resources.values():
        if resource.type in FOLDED:
            _fold(builder, resource)
    _link(builder)
    if not builder.components:
        raise InputError(f"{path}: the plan has no resource agentkit models (see docs/fmea.md)")
    regions = sorted({r for c in builder.components.values() for r in c.get("regions", [])})
    workload: dict[str, Any] = {"name": path.name.split(".")[0] or "terraform-plan"}
    if builder.workload_controls:
        workload["mitigations"] = sorted(builder.workload_controls)
    document = {
        "apiVersion": "agentkit/architecture/v2",
        "workload": workload,
        "regions": regions[:1],
        "components": list(builder.components.values()),
    }
    architecture = architecture_from(YamlDocument(data=document, source=str(path)), catalog)
    return architecture, sorted(unknown, key=lambda u: u["address"])


def _base(address: str) -> str:
    return _INDEX.sub("", address)


def _component_id(address: str) -> str:
    return _NOT_ID.sub("-", address.removeprefix("module.")).strip("-.") or "resource"


def _walk_modules(module: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield prefix, module
    for child in module.get("child_modules", []) or []:
        yield from _walk_modules(child, child.get("address", ""))


@dataclass(frozen=True)
class _Call:
    """How a module was called: its provider mapping and what each input refers to."""

    providers: dict[str, str] = field(default_factory=dict)  # local name -> the caller's key
    inputs: dict[str, set[str]] = field(default_factory=dict)  # var name -> caller addresses


def _config_modules(
    module: dict[str, Any], prefix: str = "", call: _Call | None = None
) -> Iterator[tuple[str, dict[str, Any], _Call]]:
    yield prefix, module, call or _Call()
    for name, child_call in (module.get("module_calls") or {}).items():
        child = f"{prefix}.module.{name}" if prefix else f"module.{name}"
        mapping = {str(k): str(v) for k, v in (child_call.get("providers") or {}).items()}
        inputs = {
            str(var): _addresses(_references(expression), prefix)
            for var, expression in (child_call.get("expressions") or {}).items()
        }
        yield from _config_modules(child_call.get("module") or {}, child, _Call(mapping, inputs))


def _addresses(references: set[str], prefix: str) -> set[str]:
    """Resource addresses (in the module at ``prefix``) among a set of references."""
    found = set()
    for ref in references:
        if ref.startswith(("var.", "local.", "data.", "each.", "count.", "path.", "module.")):
            continue  # variables are followed through the call; module outputs are not
        target = ".".join(ref.split(".")[:2])
        found.add(f"{prefix}.{target}" if prefix else target)
    return found


def _references(expressions: Any) -> set[str]:
    """Every ``references`` entry in an expressions tree, as resource addresses."""
    found: set[str] = set()
    stack = [expressions]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "references" and isinstance(value, list):
                    found.update(str(v) for v in value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _resources(plan: dict[str, Any]) -> dict[str, _Resource]:
    config = plan.get("configuration") or {}
    providers = config.get("provider_config") or {}
    variables = {k: (v or {}).get("value") for k, v in (plan.get("variables") or {}).items()}
    configured: dict[str, dict[str, Any]] = {}
    for prefix, module, how in _config_modules(config.get("root_module") or {}):
        for resource in module.get("resources", []) or []:
            address = f"{prefix}.{resource['address']}" if prefix else resource["address"]
            configured[address] = {**resource, "_prefix": prefix, "_call": how}
    out: dict[str, _Resource] = {}
    root = plan["planned_values"].get("root_module") or {}
    for _, module in _walk_modules(root):
        for resource in module.get("resources", []) or []:
            if resource.get("mode", "managed") != "managed":
                continue
            address = str(resource["address"])
            conf = configured.get(_base(address), {})
            prefix = conf.get("_prefix", "")
            call: _Call = conf.get("_call") or _Call()
            expressions = conf.get("expressions") or {}
            found = _references(expressions)
            references = _addresses(found, prefix)
            for ref in found:  # a module input: what the caller passed in
                if ref.startswith("var."):
                    references |= call.inputs.get(ref.split(".")[1], set())
            values = resource.get("values") or {}
            region = values.get("region") or _provider_region(conf, providers, variables)
            out[address] = _Resource(
                address,
                str(resource.get("type", "")),
                values,
                region,
                references,
                frozenset(expressions),
                expressions,
            )
    return out


def _provider_region(
    conf: dict[str, Any], providers: dict[str, Any], variables: dict[str, Any]
) -> str | None:
    key = str(conf.get("provider_config_key") or "aws")
    if key not in providers and ":" in key:  # a module's own key: follow the call's mapping
        local = key.rsplit(":", 1)[-1]
        call: _Call = conf.get("_call") or _Call()
        key = call.providers.get(local, local)
    provider = providers.get(key) or providers.get("aws")
    expression = ((provider or {}).get("expressions") or {}).get("region") or {}
    if "constant_value" in expression:
        return str(expression["constant_value"])
    for ref in expression.get("references", []):
        if ref.startswith("var.") and isinstance(variables.get(ref[4:]), str):
            return str(variables[ref[4:]])
    return None


def _attributes(resource: _Resource) -> dict[str, Any]:
    v = resource.values
    handlers: dict[str, Callable[[], dict[str, Any]]] = {
        "aws_db_instance": lambda: {"multi_az": bool(v.get("multi_az"))},
        "aws_dynamodb_table": lambda: _dynamodb(resource),
        "aws_lambda_function": lambda: (
            {"mitigations": ["reserved_concurrency"]}
            if (v.get("reserved_concurrent_executions") or -1) > 0
            else {}
        ),
        "aws_sqs_queue": lambda: {"mitigations": ["dlq"]} if v.get("redrive_policy") else {},
        "aws_kms_key": lambda: (
            {"attributes": {"multi_region": True}} if v.get("multi_region") else {}
        ),
        "aws_secretsmanager_secret": lambda: _secret(resource),
        "aws_opensearch_domain": lambda: {
            "multi_az": any(c.get("zone_awareness_enabled") for c in v.get("cluster_config") or [])
        },
        "aws_elasticache_replication_group": lambda: {"multi_az": bool(v.get("multi_az_enabled"))},
        "aws_cloudfront_distribution": lambda: (
            {"mitigations": ["fallback_region"]} if v.get("origin_group") else {}
        ),
        "aws_bedrockagent_agent": lambda: _agent(resource),
        "aws_rds_cluster": lambda: {"multi_az": False},
    }
    handler = handlers.get(resource.type)
    return handler() if handler else {}


def _dynamodb(resource: _Resource) -> dict[str, Any]:
    replicas = [r.get("region_name") for r in resource.values.get("replica") or [] if r]
    if not replicas:
        return {}
    attributes: dict[str, Any] = {"kind": "dynamodb-global"}
    regions = [resource.region] if resource.region else []
    attributes["regions"] = [*regions, *[r for r in replicas if r and r not in regions]]
    attributes["writers"] = regions  # active-passive unless the architecture says otherwise
    if any(p.get("enabled") for p in resource.values.get("point_in_time_recovery") or []):
        attributes["mitigations"] = ["pitr"]
    return attributes


def _secret(resource: _Resource) -> dict[str, Any]:
    replicas = [r.get("region") for r in resource.values.get("replica") or [] if r]
    if not replicas:
        return {}
    return {"replicas": replicas, "mitigations": ["secret_replication"]}


def _agent(resource: _Resource) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    model = str(resource.values.get("foundation_model") or "")
    if model:
        attributes["profile"] = model
    if resource.values.get("guardrail_configuration"):
        attributes["mitigations"] = ["guardrails"]
    return attributes


def _fold(builder: _Builder, resource: _Resource) -> None:
    """What a helper resource says about the component it configures."""
    targets = [builder.component_for(ref) for ref in sorted(resource.references)]
    found = [t for t in targets if t is not None]
    t = resource.type
    if t == "aws_rds_cluster_instance":
        for cluster in found:
            attributes = cluster.setdefault("attributes", {})
            attributes["instances"] = attributes.get("instances", 0) + 1
            cluster["multi_az"] = attributes["instances"] >= 2
    elif t == "aws_s3_bucket_replication_configuration":
        _replication(builder, resource)
    elif t in ("aws_s3_bucket_versioning", "aws_s3_bucket_object_lock_configuration"):
        status = (resource.values.get("versioning_configuration") or [{}])[0].get("status")
        if t.endswith("lock_configuration") or status == "Enabled":
            for bucket in found:
                builder.mitigate(bucket, "versioning_object_lock")
    elif t == "aws_cloudwatch_metric_alarm":
        for target in found:
            builder.mitigate(target, "alarms")
    elif t == "aws_kms_replica_key":
        for key in found:
            builder.extend(key, "replicas", [resource.region or ""])
            builder.mitigate(key, "key_replication")
    elif t == "aws_fis_experiment_template":
        builder.workload_controls.add("fis_experiment")
    elif t == "aws_lambda_provisioned_concurrency_config":
        for function in found:
            builder.mitigate(function, "reserved_concurrency")
    elif t in ("aws_bedrockagent_agent_action_group", "aws_bedrockagent_data_source"):
        owners = [c for c in found if c["kind"] in ("bedrock-agent", "knowledge-base")]
        for owner in owners:  # the agent (KB) depends on what its action group (source) uses
            for other in found:
                if other is not owner:
                    builder.extend(owner, "depends_on", [other["id"]])


def _replication(builder: _Builder, resource: _Resource) -> None:
    """The bucket it configures (``bucket``) gets the Regions of its destinations (``rule``)."""
    prefix = resource.address.rsplit(resource.type, 1)[0].rstrip(".")
    sources = _addresses(_references(resource.expressions.get("bucket")), prefix)
    targets = _addresses(_references(resource.expressions.get("rule")), prefix)
    source = next((builder.component_for(s) for s in sorted(sources)), None)
    regions = [
        target.region
        for address in sorted(targets)
        if (target := builder.by_base.get(address)) is not None
        and target.type == "aws_s3_bucket"
        and target.region
    ]
    if source is None or not regions:
        return
    builder.extend(source, "replicas", [r for r in regions if r])
    builder.mitigate(source, "replication")


def _link(builder: _Builder) -> None:
    ids = {c["id"] for c in builder.components.values()}
    for address, component in builder.components.items():
        resource = builder.by_base.get(address)
        for ref in sorted(resource.references if resource else ()):
            target = builder.component_for(ref)
            if target is not None and target is not component and target["id"] in ids:
                builder.extend(component, "depends_on", [target["id"]])
    _global_clusters(builder)


def _global_clusters(builder: _Builder) -> None:
    """An Aurora global cluster spans its member clusters' Regions; the writer is the member
    that does not replicate from another."""
    for component in builder.components.values():
        if component["kind"] != "aurora-global":
            continue
        members = [
            (a, c)
            for a, c in builder.components.items()
            if c["kind"] == "aurora" and component["id"] in c.get("depends_on", [])
        ]
        regions = [r for _, c in members for r in c.get("regions", [])]
        if regions:
            component["regions"] = list(dict.fromkeys(regions))
        writers = [
            r
            for a, c in members
            for r in c.get("regions", [])
            if not _value(builder, a, "replication_source_identifier")
        ]
        if writers:
            component["writers"] = writers
        for a, member in members:  # a secondary with no instance cannot take over
            instances = (member.get("attributes") or {}).get("instances", 0)
            if _value(builder, a, "replication_source_identifier") and not instances:
                member["attributes"] = {**member.get("attributes", {}), "headless": True}


def _value(builder: _Builder, address: str, key: str) -> Any:
    """A planned value, or True when the configuration sets it to a value known after apply."""
    resource = builder.by_base.get(address)
    if resource is None:
        return None
    return resource.values.get(key) or (key in resource.configured) or None
