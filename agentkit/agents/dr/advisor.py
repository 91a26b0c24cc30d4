"""The DR advisor's decision procedure (domain.md section 1.3), as plain code.

1. Region feasibility: candidates in the primary's partition and inside the residency.
2. Band: the cheapest strategy that meets both targets (thresholds configurable, ``<`` strict).
3. Modifiers: tier 0 at least warm standby; DRS, ODCR and serverless pilot-light caveats.
4. Per data store: the AWS service and its expected RPO; an AWS Backup copy always.
5. Traffic: a manually initiated Region switch plan, data-plane operations only.
6. Bedrock: geographic cross-Region inference unless global is allowed; SCP and quota parity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.regions import (
    GEOGRAPHIES,
    geography_of,
    is_known_region,
    partition_of,
    partition_regions,
    profile_destinations,
    regions_in_geography,
)

BANDS = ("backup_restore", "pilot_light", "warm_standby", "multi_site_active_active")
COST = {
    "backup_restore": "$",
    "pilot_light": "$$",
    "warm_standby": "$$$",
    "multi_site_active_active": "$$$$",
}
PITR_TYPES = frozenset({"aurora", "rds", "dynamodb"})


@dataclass(frozen=True)
class Thresholds:
    """The band rule's defaults (domain.md 1.3 step 2); every comparison is strict."""

    active_rto_min: float = 5
    warm_rto_min: float = 30
    warm_rpo_min: float = 1
    pilot_rto_min: float = 240
    pilot_rpo_min: float = 60


def band(rto: float, rpo: float, t: Thresholds = Thresholds()) -> tuple[str, str]:
    """The cheapest strategy meeting both targets, and the rule that chose it.

    Checked from the most stringent band down; the first whose RTO or RPO bound the targets fall
    under wins (active/active's RPO bound is "RPO = 0", the others' are strict ``<``)."""
    rules = (
        ("multi_site_active_active", t.active_rto_min, None),
        ("warm_standby", t.warm_rto_min, t.warm_rpo_min),
        ("pilot_light", t.pilot_rto_min, t.pilot_rpo_min),
    )
    for strategy, rto_bound, rpo_bound in rules:
        if rto < rto_bound:
            return strategy, f"RTO < {rto_bound:g} min"
        if (rpo == 0) if rpo_bound is None else (rpo < rpo_bound):
            return strategy, "RPO = 0" if rpo_bound is None else f"RPO < {rpo_bound:g} min"
    return "backup_restore", f"RTO >= {t.pilot_rto_min:g} min and RPO >= {t.pilot_rpo_min:g} min"


def check_request(request: dict[str, Any]) -> list[str]:
    """Semantic checks the JSON Schema cannot express."""
    problems = []
    regions = [request["primary_region"], *request.get("candidate_regions", [])]
    problems += [f"unknown Region {r!r}" for r in regions if not is_known_region(r)]
    for entry in request.get("residency", []):
        if not regions_in_geography(entry) and not is_known_region(entry):
            problems.append(f"residency: {entry!r} is neither a geography nor a known Region")
    return problems


def _allowed(residency: list[str]) -> set[str] | None:
    if not residency:
        return None
    allowed: set[str] = set()
    for entry in residency:
        allowed |= set(regions_in_geography(entry)) or {entry}
    return allowed


def feasible_regions(request: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    """(usable recovery Regions in preference order, excluded candidates with the reason)."""
    primary = request["primary_region"]
    partition = partition_of(primary)
    allowed = _allowed(request.get("residency", []))
    candidates = request.get("candidate_regions") or _default_candidates(primary, allowed)
    usable, excluded = [], []
    for region in candidates:
        if region == primary:
            continue
        if partition_of(region) != partition:
            excluded.append(
                {
                    "region": region,
                    "reason": f"partition {partition_of(region)} differs "
                    f"from {partition}: only out-of-band backup & restore with approval",
                }
            )
        elif allowed is not None and region not in allowed:
            excluded.append({"region": region, "reason": "outside the data residency"})
        else:
            usable.append(region)
    return usable, excluded


def _default_candidates(primary: str, allowed: set[str] | None) -> list[str]:
    """Other Regions of the partition the residency allows, nearest first: the same subset
    geography (jp, au), then the same area (``us-east``, ``ap-southeast``), then the same
    geography, then the rest; ties by name, so the choice is stable."""
    home = geography_of(primary)
    area = primary.rsplit("-", 1)[0]
    subsets = [set(m) for g, m in GEOGRAPHIES.items() if g in ("jp", "au") and primary in m]
    pool = [r for r in partition_regions(partition_of(primary)) if r != primary]
    if allowed is not None:
        pool = [r for r in pool if r in allowed]

    def distance(region: str) -> tuple[bool, bool, bool, str]:
        in_subset = any(region in subset for subset in subsets)
        return (
            not in_subset,
            region.rsplit("-", 1)[0] != area,
            geography_of(region) != home,
            region,
        )

    return sorted(pool, key=distance)


def _store(
    store: dict[str, str],
    strategy: str,
    rpo_min: float,
    unplanned: bool,
    flags: list[dict[str, str]],
) -> dict[str, Any]:
    kind, backup = store["type"], "AWS Backup cross-Region copy"
    if strategy == "backup_restore":
        pitr = kind in PITR_TYPES
        return {
            "name": store["name"],
            "type": kind,
            "service": backup + (" with point-in-time recovery" if pitr else ""),
            "expected_rpo_seconds": 300 if pitr else 3600,
            "backup": backup,
            "note": "PITR can bring RPO as low as 5 minutes; other stores follow the "
            "backup schedule",
        }
    service, rpo, note = _replication(kind, rpo_min, unplanned, flags)
    record: dict[str, Any] = {
        "name": store["name"],
        "type": kind,
        "service": service,
        "expected_rpo_seconds": rpo,
        "backup": backup,
    }
    if note:
        record["note"] = note
    return record


def _replication(
    kind: str, rpo_min: float, unplanned: bool, flags: list[dict[str, str]]
) -> tuple[str, float | None, str]:
    if kind == "aurora":
        if rpo_min == 0 and unplanned:
            _flag(
                flags,
                "RPO0_UNACHIEVABLE",
                "RPO 0 is not achievable with an unplanned Aurora Global "
                "Database failover (typically seconds of data loss); only a planned "
                "switchover is RPO 0",
            )
        return (
            "Aurora Global Database",
            1,
            "replication typically under a second; failover with AllowDataLoss",
        )
    if kind == "dynamodb":
        if rpo_min == 0:
            return (
                "DynamoDB global tables (MRSC)",
                0,
                "strong consistency across 3 Regions; no TTL or transactions",
            )
        return (
            "DynamoDB global tables (MREC)",
            1,
            "last writer wins; replication typically within a second",
        )
    if kind == "s3":
        if rpo_min < 15:
            _flag(
                flags,
                "S3_RPO_BELOW_RTC",
                "S3 Replication Time Control replicates 99.99% of objects "
                "within 15 minutes; an RPO below 15 minutes is not guaranteed for S3",
            )
        return (
            "S3 Cross-Region Replication with Replication Time Control",
            900,
            "versioning on; 15-minute RTC",
        )
    if kind == "ec2-db":
        return (
            "AWS Elastic Disaster Recovery",
            1,
            "RPO measured in seconds; EC2-hosted databases only",
        )
    others = {
        "rds": ("RDS cross-Region read replica", "asynchronous; RPO is the replica lag"),
        "elasticache": (
            "ElastiCache Global Datastore (or rebuild from the source of truth)",
            "no automatic cross-Region failover; node-based clusters only",
        ),
        "opensearch": ("OpenSearch cross-cluster replication", "RPO is the replication lag"),
        "efs": ("EFS replication", "RPO follows the replication schedule"),
    }
    service, note = others[kind]
    return service, None, note


def _flag(flags: list[dict[str, str]], code: str, message: str) -> None:
    if all(f["code"] != code for f in flags):
        flags.append({"code": code, "message": message})


def _modifiers(
    strategy: str, why: str, request: dict[str, Any], flags: list[dict[str, str]]
) -> tuple[str, str, list[str]]:
    compute_types = {c["type"] for c in request.get("compute", [])}
    notes: list[str] = []
    if request.get("tier", 1) == 0 and BANDS.index(strategy) < BANDS.index("warm_standby"):
        strategy, why = "warm_standby", f"{why}; raised to warm standby for tier 0"
    rto = request["rto_minutes"]
    if compute_types == {"ec2"} and request.get("budget_sensitivity") == "high" and rto >= 15:
        notes.append(
            "AWS Elastic Disaster Recovery for the EC2 fleet: RPO in seconds, RTO in minutes, "
            "at about pilot-light cost"
        )
    if strategy == "pilot_light" and "ec2" in compute_types and rto >= 60:
        notes.append("On-Demand Capacity Reservations in the recovery Region for the EC2 capacity")
    if strategy == "pilot_light" and compute_types & {"lambda", "fargate"}:
        _flag(
            flags,
            "PILOT_LIGHT_SERVERLESS",
            "pilot light with Lambda/Fargate: keep a warm baseline "
            "(provisioned concurrency, minimum tasks) so the recovery Region can take traffic",
        )
    return strategy, why, notes


def _traffic(strategy: str) -> dict[str, Any]:
    notes = [
        "use data-plane operations only during failover (REL11-BP04)",
        "alarm-triggered automatic failover should be used with caution",
        "allow for DNS caching in clients",
    ]
    if strategy == "multi_site_active_active":
        return {
            "mechanism": "Route 53 ARC routing controls over latency-based routing in every Region",
            "initiation": "manual approval to evacuate a Region",
            "notes": notes,
        }
    return {
        "mechanism": "ARC Region switch plan with a manual-approval block",
        "initiation": "manually initiated, automated steps",
        "notes": notes,
    }


def _bedrock(request: dict[str, Any]) -> dict[str, Any]:
    geography = geography_of(request["primary_region"])
    notes = [
        "verify that SCPs allow every destination Region of the profile, or requests fail",
        "keep Bedrock quotas in the recovery Region at parity with the primary",
    ]
    if request.get("allow_global_cris"):
        return {"profile": "global. cross-Region inference profile", "notes": notes}
    geo_prefix = {"us": "us", "eu": "eu", "apac": "apac", "us-gov": "us-gov"}.get(geography or "")
    allowed = _allowed(request.get("residency", []))
    destinations = set(profile_destinations(f"{geo_prefix}.x")) if geo_prefix else set()
    if geo_prefix and (allowed is None or destinations <= allowed):
        return {
            "profile": f"{geo_prefix}. geographic cross-Region inference profile",
            "notes": notes,
        }
    notes.append(
        "the geographic profile would route outside the residency: use in-Region model IDs "
        "per Region and fail over between them"
    )
    return {"profile": "in-Region model IDs in the primary and recovery Regions", "notes": notes}


def runbooks_for(advice: dict[str, Any], request: dict[str, Any]) -> list[str]:
    ids = []
    if advice["target_regions"]:
        ids.append("arc-traffic-shift")
    types = {s["type"] for s in request.get("data_stores", [])}
    if "aurora" in types and advice["strategy"] != "backup_restore":
        ids.append("aurora-global-failover")
    if "dynamodb" in types and advice["strategy"] != "backup_restore":
        ids.append("dynamodb-region-evacuation")
    if request.get("uses_bedrock", True):
        ids.append("bedrock-region-evacuation")
    if (
        any("partition" in e["reason"] for e in advice["excluded_regions"])
        and not advice["target_regions"]
    ):
        ids.append("cross-partition-recovery")
    return ids


def advise(request: dict[str, Any], thresholds: Thresholds = Thresholds()) -> dict[str, Any]:
    """The decision procedure. ``request`` must already satisfy the request schema."""
    flags: list[dict[str, str]] = []
    rto, rpo = float(request["rto_minutes"]), float(request["rpo_minutes"])
    usable, excluded = feasible_regions(request)
    band_strategy, why = band(rto, rpo, thresholds)
    strategy, why, compute = _modifiers(band_strategy, f"{band_strategy}: {why}", request, flags)
    if not usable:
        _flag(
            flags,
            "REGIONAL_DR_NOT_NATIVE",
            "no recovery Region is allowed in this partition and "
            "residency: use Multi-AZ and in-Region backups (with one permitted Region, "
            "multi-Region "
            "will not suit)",
        )
        strategy, why = (
            "backup_restore",
            f"{why}; no permitted recovery Region: Multi-AZ + in-Region backups",
        )
    unplanned = request.get("unplanned_failover_in_scope", True)
    advice: dict[str, Any] = {
        "workload": request["workload"],
        "strategy": strategy,
        "band_strategy": band_strategy,
        "rationale": why,
        "partition": partition_of(request["primary_region"]),
        "primary_region": request["primary_region"],
        "target_regions": usable[:1] if strategy != "multi_site_active_active" else usable[:2],
        "excluded_regions": excluded,
        "data_stores": [
            _store(s, strategy, rpo, unplanned, flags) for s in request.get("data_stores", [])
        ],
        "compute": compute,
        "traffic": _traffic(strategy),
        "bedrock": _bedrock(request),
        "cost_tier": COST[strategy],
        "flags": flags,
    }
    advice["runbooks"] = runbooks_for(advice, request)
    return advice
