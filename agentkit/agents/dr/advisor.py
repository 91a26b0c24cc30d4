"""The DR advisor's decision procedure (domain.md section 1.3, corrected rule), as plain code.

1. Region feasibility (:mod:`agentkit.agents.dr.placement`): residency, partition, the primary
   and a recovery Region chosen for what the workload uses.
2. Band: RTO decides how ready the compute must be; RPO decides how the data is replicated (a
   store whose RPO the backup tier cannot meet needs continuous replication, so at least pilot
   light). Strategy = the stricter of the two. Thresholds configurable, ``<`` strict.
3. Modifiers: tier 0 at least warm standby; DRS, ODCR and serverless pilot-light caveats.
4. Per data store: the mechanism, the RPO it really gives (backup copies included), a note.
5. Traffic: a manually initiated Region switch plan, data-plane operations only.
6. Bedrock (only when the workload uses it): the profile whose destinations from the source
   Region stay inside the residency; ``global.`` only when allowed and no residency is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.agents.dr.cost import estimate as estimate_cost
from agentkit.agents.dr.placement import (
    MRSC_SETS,
    SERVICES,
    Needs,
    Placement,
    place,
    residency_problems,
)
from agentkit.regions import profile_for, profiles_from, routes_from

BANDS = ("backup_restore", "pilot_light", "warm_standby", "multi_site_active_active")
COST = {
    "backup_restore": "$",
    "pilot_light": "$$",
    "warm_standby": "$$$",
    "multi_site_active_active": "$$$$",
}
BACKUP = "AWS Backup cross-Region copy"
# An agent's own stores (Knowledge Bases, their vector stores, agent memory): one row per store
# type, with its Regional DR mechanism, expected RPO and the AWS page beside each fact.
AGENT_STORES: dict[str, dict[str, Any]] = SERVICES["agent_stores"]


@dataclass(frozen=True)
class Thresholds:
    """The band rule's defaults (domain.md 1.3 step 2); every comparison is strict."""

    active_rto_min: float = 5
    warm_rto_min: float = 30
    pilot_rto_min: float = 240


def compute_band(rto: float, t: Thresholds = Thresholds()) -> tuple[str, str]:
    """How ready the compute in the recovery Region must be, from the RTO alone."""
    for strategy, bound in (
        ("multi_site_active_active", t.active_rto_min),
        ("warm_standby", t.warm_rto_min),
        ("pilot_light", t.pilot_rto_min),
    ):
        if rto < bound:
            return strategy, f"RTO {minutes_text(rto)} < {minutes_text(bound)}"
    return "backup_restore", f"RTO {minutes_text(rto)} >= {minutes_text(t.pilot_rto_min)}"


def backup_tier_rpo(kind: str) -> float:
    """The best RPO (minutes) the backup & restore tier gives a store in the recovery Region."""
    table = SERVICES["backup_tier_rpo_minutes"]
    return float(table.get(kind, table["default"]))


def data_floor(rpo: float, kinds: list[str]) -> tuple[str, str]:
    """The least strategy the data needs: pilot light when the backup tier cannot meet the RPO of
    some store (continuous cross-Region replication), else backup & restore."""
    if rpo == 0:
        return "pilot_light", "RPO 0 needs continuous (synchronous where possible) replication"
    short = [k for k in kinds or ["default"] if rpo < backup_tier_rpo(k)]
    if short:
        best = min(backup_tier_rpo(k) for k in short)
        what = ", ".join(sorted(set(short))) if kinds else "the stores"
        return (
            "pilot_light",
            f"RPO {minutes_text(rpo)} is below what backup copies give {what} "
            f"({minutes_text(best)} at best): continuous cross-Region replication",
        )
    return "backup_restore", f"RPO {minutes_text(rpo)}: backup copies meet it"


def band_floor(rpo: float, kinds: list[str]) -> tuple[str, str]:
    """:func:`data_floor` over the stores whose mechanism depends on the band. An agent store
    rebuilt from its data source (a Knowledge Base, most vector stores, agent memory) gives the
    same RPO in every tier, so it never raises the band."""
    banded = [k for k in kinds if not AGENT_STORES.get(k, {}).get("tier_independent")]
    if kinds and not banded and rpo > 0:
        what = ", ".join(sorted(set(kinds)))
        return (
            "backup_restore",
            f"RPO {minutes_text(rpo)}: {what} recover the same way in every tier (rebuilt "
            "from the replicated data source), so no band gives them a better RPO",
        )
    return data_floor(rpo, banded)


def minutes_text(value: float) -> str:
    """``30 s``, ``15 min``, ``4 h``: a duration in minutes as an SRE writes it."""
    if value == 0:
        return "0"
    if value < 1:
        return f"{value * 60:g} s"
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g} h"
    return f"{value:g} min"


def check_request(request: dict[str, Any]) -> list[str]:
    """Semantic checks the JSON Schema cannot express."""
    return residency_problems(request)


# --- data stores ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mechanism:
    service: str
    rpo_s: float | None  # None: the replication lag, no figure to promise
    note: str


def _mrsc_feasible(placement: Placement) -> str | None:
    """Why MRSC is impossible here, or None when three Regions of the primary's set are allowed."""
    for name, members in MRSC_SETS.items():
        if placement.primary in members:
            inside = [r for r in members if placement.allowed is None or r in placement.allowed]
            if len(inside) >= 3:
                return None
            return (
                f"only {len(inside)} Region(s) of the {name.upper()} MRSC set lie inside the "
                "residency; MRSC needs 3 (or 2 and a witness)"
            )
    return f"{placement.primary} is in no MRSC Region set (US, EU, AP)"


def _replicated(kind: str, rpo: float, unplanned: bool, placement: Placement) -> Mechanism:
    if kind == "aurora":
        if rpo == 0 and not unplanned:
            return Mechanism(
                "Aurora Global Database (planned switchover)", 0, "switchover is RPO 0"
            )
        return Mechanism(
            "Aurora Global Database",
            1,
            "replication typically under a second; unplanned failover (AllowDataLoss) loses "
            "the lag, a planned switchover loses nothing; a headless secondary is a valid "
            "pilot-light data tier, but adding its DB instance counts against the RTO",
        )
    if kind == "dynamodb":
        if rpo == 0 and _mrsc_feasible(placement) is None:
            return Mechanism(
                "DynamoDB global tables (MRSC)",
                0,
                "strongly consistent across 3 Regions of one set (or 2 and a witness); "
                "no TTL or transactions",
            )
        return Mechanism(
            "DynamoDB global tables (MREC)",
            1,
            "replication typically within a second, last writer wins; fence writes by item "
            "ownership or reconcile before failback",
        )
    table = {
        "s3": Mechanism(
            "S3 Cross-Region Replication with Replication Time Control",
            900,
            "99.99% of objects within 15 minutes; versioning on",
        ),
        "rds": Mechanism(
            "RDS cross-Region read replica",
            None,
            "asynchronous: RPO is the replica lag (seconds to minutes); promotion breaks "
            "replication",
        ),
        "ec2-db": Mechanism(
            "AWS Elastic Disaster Recovery", 1, "block-level replication, RPO in seconds"
        ),
        "elasticache": Mechanism(
            "ElastiCache Global Datastore (or rebuild from the source of truth)",
            None,
            "asynchronous; node-based clusters only, at most 3 Regions, no automatic "
            "cross-Region failover",
        ),
        "opensearch": Mechanism(
            "OpenSearch cross-cluster replication", None, "RPO is the replication lag"
        ),
        "efs": Mechanism("EFS replication", None, "RPO follows the replication schedule"),
        "documentdb": Mechanism(
            "DocumentDB global cluster", None, "asynchronous; RPO is the replication lag"
        ),
        "neptune": Mechanism(
            "Neptune global database", None, "asynchronous; RPO is the replication lag"
        ),
    }
    return table[kind]


def _backed_up(kind: str) -> Mechanism:
    """What the backup & restore tier gives a store in the recovery Region."""
    if kind == "rds":
        return Mechanism(
            "RDS cross-Region automated backups (point-in-time restore in the recovery Region)",
            backup_tier_rpo("rds") * 60,
            "snapshots and transaction logs copied as soon as ready (plan 15 min); DB "
            "instances only, not Multi-AZ DB clusters",
        )
    if kind in SERVICES["not_covered_by_aws_backup"]:
        return Mechanism(
            "its own snapshots copied to the recovery Region",
            backup_tier_rpo(kind) * 60,
            "AWS Backup does not cover it; the RPO is the snapshot copy schedule",
        )
    return Mechanism(
        BACKUP,
        backup_tier_rpo(kind) * 60,
        "a copy is a snapshot: the RPO is the copy schedule (hourly at best); continuous "
        "backups give point-in-time recovery only in the source Region",
    )


_NO_SYNC = {
    "aurora": "only a planned switchover is RPO 0; an unplanned Global Database failover "
    "typically loses seconds",
    "s3": "S3 replication is asynchronous (RTC: 99.99% of objects within 15 minutes)",
    "rds": "cross-Region read replicas are asynchronous",
    "elasticache": "Global Datastore replication is asynchronous",
    "opensearch": "cross-cluster replication is asynchronous",
    "efs": "EFS replication is asynchronous",
    "documentdb": "global clusters replicate asynchronously",
    "neptune": "global databases replicate asynchronously",
    "ec2-db": "DRS replication is asynchronous (RPO in seconds)",
}


def _store(
    store: dict[str, str],
    strategy: str,
    rpo: float,
    unplanned: bool,
    placement: Placement,
    flags: list[dict[str, str]],
) -> dict[str, Any]:
    kind = store["type"]
    regional = bool(placement.targets)
    if regional and kind in AGENT_STORES:
        return _agent_store(store, AGENT_STORES[kind], strategy, rpo, flags)
    if not regional:
        mechanism = Mechanism(
            "Multi-AZ deployment with in-Region backups (point-in-time recovery)",
            None,
            "no second Region is allowed: no cross-Region copy",
        )
    elif strategy == "backup_restore":
        mechanism = _backed_up(kind)
    else:
        mechanism = _replicated(kind, rpo, unplanned, placement)
    if regional and rpo == 0 and mechanism.rpo_s != 0:
        why = _NO_SYNC.get(kind)
        if kind == "dynamodb":
            why = f"MRSC is impossible here: {_mrsc_feasible(placement)}"
        _flag(flags, "RPO0_UNACHIEVABLE", f"{store['name']} ({kind}): RPO 0 not achievable: {why}")
    if regional and kind == "s3" and 0 < rpo < 15 and strategy != "backup_restore":
        _flag(
            flags,
            "S3_RPO_BELOW_RTC",
            "S3 Replication Time Control replicates 99.99% of objects within 15 minutes; an "
            "RPO below 15 minutes is not guaranteed for S3",
        )
    achieved = mechanism.rpo_s
    return {
        "name": store["name"],
        "type": kind,
        "service": mechanism.service,
        "expected_rpo_seconds": achieved,
        "meets_rpo": None if achieved is None else achieved <= rpo * 60,
        "backup": _backup(kind, regional),
        "note": mechanism.note,
    }


def _agent_store(
    store: dict[str, str],
    row: dict[str, Any],
    strategy: str,
    rpo: float,
    flags: list[dict[str, str]],
) -> dict[str, Any]:
    """A Knowledge Base, its vector store or agent memory, from its row in the data table."""
    kind, name = store["type"], store["name"]
    plan = (
        {**row, **row["backup_tier"]}
        if strategy == "backup_restore" and row.get("backup_tier")
        else row
    )
    floor: float | None = plan["rpo_floor_seconds"]
    if rpo == 0:
        _flag(
            flags, "RPO0_UNACHIEVABLE", f"{name} ({kind}): RPO 0 not achievable: {row['no_sync']}"
        )
    elif floor is not None and floor > rpo * 60:
        _flag(
            flags,
            "AGENT_STORE_RPO_BELOW_PLAN",
            f"{name} ({kind}): an RPO of {minutes_text(rpo)} is below what its recovery gives "
            f"({minutes_text(floor / 60)} at best: {plan['rpo_basis']})",
        )
    if row["managed_cross_region"] is not True:
        _flag(
            flags,
            "NO_MANAGED_CROSS_REGION",
            f"{name} ({kind}): {row['cross_region_finding']}; planned as a rebuild in the "
            "recovery Region",
        )
    return {
        "name": name,
        "type": kind,
        "service": plan["service"],
        "expected_rpo_seconds": plan["expected_rpo_seconds"],
        "rpo_floor_seconds": floor,
        "meets_rpo": False if rpo == 0 or (floor is not None and floor > rpo * 60) else None,
        "backup": row["backup"],
        "note": f"{row['note']}; RPO: {plan['rpo_basis']}; {row['rto_note']}",
        "managed_cross_region": row["managed_cross_region"],
        "cross_region_finding": row["cross_region_finding"],
        "sources": list(dict.fromkeys(s["url"] for s in row["sources"])),
    }


def _backup(kind: str, regional: bool) -> str:
    if not regional:
        return "in-Region AWS Backup"
    if kind in SERVICES["not_covered_by_aws_backup"]:
        return "its own snapshots, copied cross-Region"
    return BACKUP


def _flag(flags: list[dict[str, str]], code: str, message: str) -> None:
    if all(f["message"] != message for f in flags):
        flags.append({"code": code, "message": message})


# --- compute, traffic, Bedrock, advice ---------------------------------------------------------


def _modifiers(
    strategy: str, request: dict[str, Any], regional: bool, flags: list[dict[str, str]]
) -> tuple[str, list[str], list[str]]:
    """(strategy, why it moved, compute notes)."""
    compute_types = {c["type"] for c in request.get("compute", [])}
    moved: list[str] = []
    notes: list[str] = []
    if request.get("tier", 1) == 0 and BANDS.index(strategy) < BANDS.index("warm_standby"):
        strategy = "warm_standby"
        moved.append("raised to warm standby for tier 0")
    rto = request["rto_minutes"]
    if not regional:
        return strategy, moved, notes
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
            "pilot light with Lambda/Fargate: keep a warm baseline (provisioned concurrency, "
            "minimum tasks) so the recovery Region can take traffic",
        )
    if strategy in ("pilot_light", "backup_restore"):
        notes.append(
            "keep the recovery Region's stack in infrastructure as code and rebuild it in "
            "drills: it is what turns a pilot light or a backup into a running service"
        )
    return strategy, moved, notes


def _traffic(strategy: str, regional: bool) -> dict[str, Any]:
    notes = [
        "use data-plane operations only during failover (REL11-BP04)",
        "alarm-triggered automatic failover should be used with caution",
        "allow for DNS caching in clients",
    ]
    if not regional:
        return {
            "mechanism": "ARC zonal shift between Availability Zones",
            "initiation": "manual or zonal autoshift",
            "notes": notes[:1],
        }
    if strategy == "backup_restore":
        return {
            "mechanism": "restore, redeploy from IaC, then point DNS (Route 53) at the new stack",
            "initiation": "manual, after the restore is verified",
            "notes": notes[2:],
        }
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


def _bedrock(request: dict[str, Any], placement: Placement, flags: list[dict[str, str]]) -> Any:
    scp = "verify that SCPs allow every destination Region of the profile, or requests fail"
    notes = (
        [
            "keep Bedrock quotas in the recovery Region at parity with the primary "
            "(run `agentkit capacity` per Region)"
        ]
        if placement.targets
        else ["run `agentkit capacity` to size the Bedrock quotas in the Region"]
    )
    allowed = placement.allowed
    if request.get("allow_global_cris") and allowed is None:
        return {
            "profile": "global. cross-Region inference profile",
            "destinations": "every commercial Region",
            "notes": [scp, *notes],
        }
    if request.get("allow_global_cris"):
        notes.append("a global. profile routes worldwide: refused under a residency")
    regions = [placement.primary, *placement.targets[:1]]
    per_region = {region: profile_for(region, allowed) for region in regions}
    for region, prefix in per_region.items():
        if prefix is None and _single_destination(region):
            _flag(
                flags,
                "BEDROCK_PROFILE_NO_REDUNDANCY",
                f"the geographic profile called in {region} routes to one Region only: it gives "
                "no Regional redundancy and does not count as a fallback",
            )
    chosen = per_region[placement.primary]
    if chosen is None:
        notes.append(
            "no geographic profile from this Region stays inside the residency: use in-Region "
            "model IDs"
            + (
                " in the primary and recovery Regions and fail over between them"
                if placement.targets
                else ""
            )
        )
        return {"profile": "in-Region model IDs", "notes": notes}
    destinations = routes_from(chosen, placement.primary)
    if allowed is not None:
        notes.append(
            "prompts and outputs may be stored for abuse detection in the destination Region: "
            "tell the data-protection officer which Regions those are"
        )
    return {
        "profile": f"{chosen}. geographic cross-Region inference profile",
        "destinations": ", ".join(destinations),
        "notes": [scp, *notes],
    }


def _single_destination(region: str) -> bool:
    return any(len(found) == 1 for found in profiles_from(region).values())


def _advice(request: dict[str, Any], placement: Placement, strategy: str) -> list[str]:
    """The seeds' themes where they apply (000, 002, 003, 004)."""
    advice = [
        "replicate KMS keys as multi-Region keys and Secrets Manager secrets to the recovery "
        "Region, and test IAM permission parity there",
        "run fault-injection game days (AWS FIS) against the failover path",
        "check the AWS Health Dashboard before failing back",
    ]
    if placement.allowed is not None:
        advice.append("classify the data and encrypt sensitive fields before they replicate")
    if placement.out_of_band:
        advice.append(
            "another partition has its own IAM, KMS keys and network: a pre-provisioned account, "
            "separate credentials and an approved export path, with compliance sign-off"
        )
    if request.get("uses_bedrock"):
        advice.append("make agent tools idempotent so a retried or resumed call does no harm")
    if strategy in ("pilot_light", "backup_restore") and placement.targets:
        advice.append("rebuild the recovery stack from infrastructure as code in every drill")
    return advice


def runbooks_for(advice: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """The runbooks an incident for this advice needs, most important first."""
    kinds = {s["type"] for s in request.get("data_stores", [])}
    strategy, targets = advice["strategy"], advice["target_regions"]
    if not targets:
        ids = ["az-zonal-shift"]
    elif strategy == "backup_restore":
        ids = ["backup-restore-rebuild"]
    else:
        pair = {"aws-us-gov": "govcloud-region-failover", "aws-cn": "china-region-failover"}
        ids = [pair.get(advice["partition"], "region-failover")]
        if strategy == "pilot_light":
            ids.append("pilot-light-activation")
        per_store = {
            "aurora": ["aurora-global-failover", "aurora-global-switchover"],
            "dynamodb": ["dynamodb-region-evacuation"],
            "rds": ["rds-replica-promotion"],
            "s3": ["s3-mrap-failover"],
            "elasticache": ["elasticache-global-datastore-promotion"],
            "ec2-db": ["drs-recovery"],
        }
        ids += [r for kind in sorted(kinds) for r in per_store.get(kind, [])]
        ids += [
            r
            for kind in sorted(kinds)
            for r in AGENT_STORES.get(kind, {}).get("runbooks", {}).get("failover", [])
        ]
    ids += [
        r
        for kind in sorted(kinds)
        for r in AGENT_STORES.get(kind, {}).get("runbooks", {}).get("always", [])
    ]
    if request.get("uses_bedrock"):
        ids.append("bedrock-region-evacuation")
    if any(o.get("approved_in_residency") for o in advice.get("out_of_band_regions", [])):
        ids.append("cross-partition-recovery")
    return list(dict.fromkeys(ids))


def advise(request: dict[str, Any], thresholds: Thresholds = Thresholds()) -> dict[str, Any]:
    """The decision procedure. ``request`` must already satisfy the schema and
    :func:`check_request`."""
    flags: list[dict[str, str]] = []
    rto, rpo = float(request["rto_minutes"]), float(request["rpo_minutes"])
    stores = request.get("data_stores", [])
    kinds = [s["type"] for s in stores]
    needs = Needs(
        mrsc=rpo == 0 and "dynamodb" in kinds,
        bedrock=bool(request.get("uses_bedrock")) or any(k in AGENT_STORES for k in kinds),
    )
    placement = place(request, needs)
    regional = bool(placement.targets)
    compute, compute_why = compute_band(rto, thresholds)
    floor, floor_why = band_floor(rpo, kinds)
    band = max(compute, floor, key=BANDS.index)
    why = [f"compute: {compute} ({compute_why})", f"data: {floor} ({floor_why})"]
    strategy, moved, compute_notes = _modifiers(band, request, regional, flags)
    why += moved
    if not regional:
        _flag(
            flags,
            "REGIONAL_DR_NOT_NATIVE",
            "the residency allows no second Region in this partition: use Multi-AZ and in-Region "
            "backups (with one permitted Region, multi-Region will not suit)",
        )
        strategy = "backup_restore"
        why.append("no permitted recovery Region: Multi-AZ + in-Region backups")
    unplanned = request.get("unplanned_failover_in_scope", True)
    out_of_band = [
        {
            **o,
            "approved_in_residency": placement.allowed is None or o["region"] in placement.allowed,
        }
        for o in placement.out_of_band
    ]
    advice: dict[str, Any] = {
        "workload": request["workload"],
        "strategy": strategy,
        "band_strategy": band,
        "compute_band": compute,
        "data_floor": floor,
        "rationale": "; ".join(why),
        "partition": placement.partition,
        "primary_region": placement.primary,
        "primary_region_source": placement.primary_source,
        "residency_regions": sorted(placement.allowed) if placement.allowed is not None else [],
        "target_regions": placement.targets[: 2 if strategy == "multi_site_active_active" else 1]
        if regional
        else [],
        "recovery_region_reason": placement.reason,
        "considered_regions": placement.considered,
        "excluded_regions": placement.excluded,
        "out_of_band_regions": out_of_band,
        "data_stores": [_store(s, strategy, rpo, unplanned, placement, flags) for s in stores],
        "compute": compute_notes,
        "traffic": _traffic(strategy, regional),
        "cost_tier": COST[strategy],
        "notes": placement.notes,
        "advice": _advice(request, placement, strategy),
        "flags": flags,
    }
    if request.get("uses_bedrock"):
        advice["bedrock"] = _bedrock(request, placement, flags)
    advice["runbooks"] = runbooks_for(advice, request)
    advice["approval_required"] = approvals_needed(advice)
    advice["estimated_monthly_cost"] = estimate_cost(advice)
    return advice


def approvals_needed(advice: dict[str, Any]) -> list[dict[str, str]]:
    """High-stakes advice a person signs before it is acted on: it accepts data loss beyond the
    stated RPO (an unplanned failover with AllowDataLoss, an asynchronous store at RPO 0), or it
    moves data out of its partition."""
    needed = [
        {"code": "DATA_LOSS_ACCEPTED", "reason": flag["message"]}
        for flag in advice["flags"]
        if flag["code"] == "RPO0_UNACHIEVABLE"
    ]
    needed += [
        {
            "code": "CROSS_PARTITION_COPY",
            "reason": f"an out-of-band backup copy to {o['region']} leaves the partition "
            f"{advice['partition']}",
        }
        for o in advice["out_of_band_regions"]
        if o.get("approved_in_residency")
    ]
    return needed
