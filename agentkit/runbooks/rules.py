"""Semantic rules that need a runbook's meaning, not only its references.

- **Placeholders:** ``${source}`` and ``${target}`` are the only ones; ``plan`` fills them.
- **Data before traffic:** every forward traffic step (``arc.*``, ``route53.*``) has every forward
  data step (``aurora.*``, ``rds.*``, ``ddb.*``, ``s3.*`` ...) among its ``depends_on``
  ancestors, and every capacity step (``scale.*``, ``iac.apply``) that does not itself follow a
  traffic step (a scale-down after the shift may): data is promoted and compute is ready before
  users are sent there.
- **The unreachable Region:** an ungraceful (unplanned) runbook runs no forward step in the source
  Region (``run_in: source|deactivating``, ``--region ${source}`` or ``region: ${source}``);
  fencing happens from the target or a global control. Rollback steps run after recovery.
- **The strategy:** backup and restore has no Region switch plan, so a runbook listing
  ``backup_restore`` has no Region switch or routing control step (a zonal shift stays in-Region).
- **The RTO budget:** detection (the slowest trigger), plus the longest ``depends_on`` path
  weighting each step by ``budget_s`` (else ``timeout_s``), plus the bake before failback, above
  ``rto_budget_s`` is a warning (:mod:`agentkit.runbooks.timing`).
- **Verification metrics** are what CloudWatch holds: ``AWS/...`` (a service's metric, as AWS
  names it), ``agentkit <name>`` (a metric agentkit emits, in the namespace ``agentkit observe
  export`` reads by default, its dimensions the attributes the ADOT declarations publish), or
  the team's own application's, which the verification declares with ``source: application``.
  A verification on an alarm (``alarm:``, ``state: OK``) names one the runbook triggers on or
  lists in ``health_alarms``, so the export creates it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.runbooks.model import Report, Runbook

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
FILLED = frozenset({"source", "target"})
DATA_FAMILIES = frozenset(
    {"aurora", "rds", "ddb", "s3", "elasticache", "backup", "secrets", "drs", "kb.sync"}
)
CAPACITY_FAMILIES = frozenset({"scale", "iac"})
TRAFFIC_FAMILIES = frozenset({"arc", "route53"})
REGION_SWITCH_TYPES = frozenset({"arc.region_switch_plan", "arc.routing_control"})
_SOURCE_FLAG = re.compile(r"--region\s+\$\{source\}")
AGENTKIT_NAMESPACE = "agentkit"  # the MetricsNamespace default of agentkit observe export
APPLICATION = "application"  # a verification's source: the team's application publishes it


def family(step_type: str) -> str:
    """``aurora`` for ``aurora.failover``; ``kb.sync`` keeps its name (the other ``kb.*`` steps
    route retrieval and are neither data nor traffic)."""
    return step_type if step_type == "kb.sync" else step_type.split(".", 1)[0]


def is_data(step: dict[str, Any]) -> bool:
    return family(step["type"]) in DATA_FAMILIES


def is_traffic(step: dict[str, Any]) -> bool:
    return family(step["type"]) in TRAFFIC_FAMILIES


def is_capacity(step: dict[str, Any]) -> bool:
    return family(step["type"]) in CAPACITY_FAMILIES


def in_region(runbook: Runbook) -> bool:
    """A runbook that acts inside one Region (its target is ``${source}``)."""
    return str(runbook.spec["regions"]["target"]) == "${source}"


def forward(runbook: Runbook) -> list[dict[str, Any]]:
    rollbacks = {step["rollback"] for step in runbook.steps if "rollback" in step}
    return [step for step in runbook.steps if step["id"] not in rollbacks]


def ancestors(steps: list[dict[str, Any]], step_id: str) -> set[str]:
    by_id = {step["id"]: step for step in steps}
    seen: set[str] = set()
    todo = list(by_id.get(step_id, {}).get("depends_on", []))
    while todo:
        current = todo.pop()
        if current not in seen and current in by_id:
            seen.add(current)
            todo += by_id[current].get("depends_on", [])
    return seen


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [
            pair for k, v in value.items() for pair in _strings(v, f"{path}.{k}" if path else k)
        ]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in _strings(v, f"{path}[{i}]")]
    return []


def check_placeholders(runbook: Runbook, report: Report) -> None:
    for path, text in _strings(runbook.data):
        for name in PLACEHOLDER.findall(text):
            if name not in FILLED:
                report.errors.append(
                    f"{runbook.path}: {path}: template placeholder ${{{name}}}: only ${{source}} "
                    "and ${target} are filled by `plan`; name the resource or make it a param"
                )


def check_data_before_traffic(runbook: Runbook, report: Report) -> None:
    steps = forward(runbook)
    traffic = {s["id"] for s in steps if is_traffic(s)}
    before = [
        s
        for s in steps
        if is_data(s) or (is_capacity(s) and not ancestors(steps, s["id"]) & traffic)
    ]
    for step in steps:
        if not is_traffic(step):
            continue
        upstream = ancestors(steps, step["id"])
        for needed in before:
            if needed["id"] not in upstream:
                kind = "data" if is_data(needed) else "capacity"
                report.errors.append(
                    f"{runbook.path}: traffic step {step['id']} ({step['type']}) does not depend "
                    f"on {kind} step {needed['id']} ({needed['type']}): data and capacity come "
                    "before traffic; add it to the depends_on chain"
                )


def runs_in_source(step: dict[str, Any]) -> bool:
    """Whether a step acts in the source Region."""
    if step.get("run_in") in ("source", "deactivating"):
        return True
    for path, text in _strings(step.get("params", {})):
        if _SOURCE_FLAG.search(text):
            return True
        if path.rsplit(".", 1)[-1] == "region" and text.strip() == "${source}":
            return True
    return False


def check_unreachable_source(runbook: Runbook, report: Report) -> None:
    if runbook.spec.get("execution_mode") != "ungraceful":
        return
    for step in forward(runbook):
        if runs_in_source(step):
            report.errors.append(
                f"{runbook.path}: step {step['id']} runs in the source Region, which an "
                "ungraceful (unplanned) runbook assumes unreachable: run it from the target "
                "Region or a global control, or make it a rollback step"
            )


def check_strategy(runbook: Runbook, report: Report) -> None:
    if "backup_restore" not in runbook.spec["strategies"]:
        return
    for step in runbook.steps:
        if step["type"] in REGION_SWITCH_TYPES:
            report.errors.append(
                f"{runbook.path}: step {step['id']} ({step['type']}) is a Region switch or ARC "
                "step, but the runbook lists backup_restore, which has no Region switch plan"
            )


def step_seconds(step: dict[str, Any]) -> int:
    return int(step.get("budget_s", step.get("timeout_s", 0)))


def critical_path(runbook: Runbook) -> tuple[int, list[str]]:
    """The longest ``depends_on`` path of the forward steps: (seconds, step ids in order)."""
    steps = forward(runbook)
    ids = {s["id"] for s in steps}
    best: dict[str, tuple[int, list[str]]] = {}

    def longest(step: dict[str, Any], trail: frozenset[str]) -> tuple[int, list[str]]:
        if step["id"] in best:
            return best[step["id"]]
        by_id = {s["id"]: s for s in steps}
        upstream = [
            longest(by_id[d], trail | {step["id"]})
            for d in step.get("depends_on", [])
            if d in ids and d not in trail
        ]
        head = max(upstream, key=lambda p: p[0], default=(0, []))
        best[step["id"]] = (head[0] + step_seconds(step), [*head[1], step["id"]])
        return best[step["id"]]

    return max((longest(s, frozenset()) for s in steps), key=lambda p: p[0], default=(0, []))


def region_pair_problem(runbook: Runbook, source: str, target: str) -> str | None:
    """Why ``plan --from source --to target`` cannot be planned, or None.

    Both Regions must be known (checked by the caller); a runbook acting in one Region needs
    ``target == source``, any other needs two Regions of one partition (unless it is the
    cross-partition runbook), inside its ``regions.partition`` when that is set.
    """
    from agentkit.regions import partition_of, same_partition

    regions = runbook.spec["regions"]
    if in_region(runbook):
        if target != source:
            return f"{runbook.id} acts inside one Region: give --from only (got --to {target})"
        return None
    if source == target:
        return "--from and --to must be different Regions"
    if regions.get("cross_partition") and same_partition(source, target):
        return (
            f"{runbook.id} moves data to another partition; {source} and {target} are both in "
            f"{partition_of(source)}: use an in-partition runbook (region-failover, "
            "backup-restore-rebuild)"
        )
    if not same_partition(source, target) and not regions.get("cross_partition"):
        return (
            f"{source} ({partition_of(source)}) and {target} ({partition_of(target)}) are in "
            "different partitions: no native replication or failover crosses a partition "
            "(see cross-partition-recovery)"
        )
    pinned = regions.get("partition")
    if pinned:
        outside = [r for r in (source, target) if partition_of(r) != pinned]
        if outside:
            verb = "is" if len(outside) == 1 else "are"
            return (
                f"{runbook.id} runs in partition {pinned}; {' and '.join(outside)} {verb} not in it"
            )
    return None


def agentkit_metrics() -> frozenset[str]:
    """The instrument names of :mod:`agentkit.telemetry.semconv` (plain strings: no OpenTelemetry
    import); ``agentkit.signal`` is the team's, not agentkit's."""
    from agentkit.telemetry import semconv

    return frozenset(
        value
        for name, value in vars(semconv).items()
        if name.startswith("METRIC_") and isinstance(value, str)
    ) - {semconv.METRIC_SIGNAL}


def check_verification(runbook: Runbook, report: Report) -> None:
    named = {t["alarm"] for t in runbook.spec["triggers"]} | set(
        runbook.spec.get("health_alarms", [])
    )
    emitted = agentkit_metrics()
    for check in runbook.spec["verification"]:
        where = f"{runbook.path}: verification {check['id']}"
        if "alarm" in check:
            if check["alarm"] not in named:
                report.errors.append(
                    f"{where}: alarm {check['alarm']!r} is neither a trigger nor a health alarm "
                    "of the runbook, so agentkit observe export does not create it; list it "
                    "in health_alarms"
                )
            continue
        problem = metric_problem(check, emitted)
        if problem:
            report.errors.append(f"{where}: {check['metric']}: {problem}")


def metric_problem(check: dict[str, Any], emitted: frozenset[str]) -> str | None:
    """Why a verification's metric is not one CloudWatch will hold as named, or None."""
    namespace, _, name = check["metric"].partition(" ")
    application = check.get("source") == APPLICATION
    if namespace.startswith("AWS/") or namespace == AGENTKIT_NAMESPACE:
        if application:
            return f"{namespace} is not an application's namespace; drop source: application"
        if namespace == AGENTKIT_NAMESPACE and name not in emitted:
            return (
                f"agentkit emits no metric {name!r}; name one of docs/telemetry.md's metrics "
                "(agentkit.answers, agentkit.gateway.requests ...)"
            )
        return None
    if not application:
        return (
            "neither agentkit's (namespace agentkit) nor AWS's (AWS/...): name the metric "
            "agentkit emits, or declare source: application if your application publishes it"
        )
    return None
