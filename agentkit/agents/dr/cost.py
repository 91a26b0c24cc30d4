"""The estimated monthly cost of the standby the advisor recommends, from the price table.

Only what ``agentkit/data/prices-v1.json`` prices is counted, so the figure is the cost of the
priced building blocks, a floor, never the whole bill; everything else the standby needs is
listed as not priced, and every assumption is said:

- a Region switch plan (pilot light, warm standby): $70 a month per plan, in the ``aws``
  partition (the seed's figure, for the commercial Regions);
- one basic Route 53 health check of an AWS endpoint per Region in play (the primary and each
  recovery Region), the target of the deep health endpoint: $0.50 a month each; a 10 s interval,
  HTTPS or string matching add $1.00 each per check (not for backup and restore, which is
  switched by hand after the restore);
- Bedrock on demand bills per token, so an idle recovery Region adds no token cost.
"""

from __future__ import annotations

from typing import Any

from agentkit.capacity.prices import PriceTable, default_prices

REGION_SWITCH = "arc_region_switch_plan"
HEALTH_CHECK = "route53_health_check_aws_endpoint"
CHECK_OPTION = "route53_health_check_optional_feature"
_STANDBY = {
    "backup_restore": "backups and their cross-Region copies (AWS Backup, snapshots), restored "
    "only on failover",
    "pilot_light": "the live data stores and their replication in the recovery Region; compute "
    "is off until failover",
    "warm_standby": "a scaled-down, fully working stack in the recovery Region",
    "multi_site_active_active": "a full stack serving traffic in every Region",
}
_STORE_COST = {
    "aurora": "the Aurora Global Database secondary cluster and its replication",
    "dynamodb": "DynamoDB global tables' replicated writes and storage in the recovery Region",
    "s3": "S3 Cross-Region Replication with Replication Time Control, and the replica storage",
    "rds": "the RDS cross-Region read replica (or copied automated backups)",
    "elasticache": "the ElastiCache Global Datastore secondary cluster",
    "ec2-db": "AWS Elastic Disaster Recovery replication servers and staging storage",
}


def _money(value: float) -> float:
    return round(value, 2)


def _item(
    table: PriceTable, key: str, what: str, quantity: int, partition: str
) -> dict[str, Any] | None:
    price = table.item(key)
    if price.usd is None or (price.partitions is not None and partition not in price.partitions):
        return None
    return {
        "item": what,
        "quantity": quantity,
        "unit_usd": price.usd,
        "usd": _money(price.usd * quantity),
        "source": price.source.cite(),
    }


def estimate(advice: dict[str, Any], table: PriceTable | None = None) -> dict[str, Any]:
    """``estimated_monthly_cost`` of ``advice`` (the advisor's answer without it)."""
    table = table or default_prices()
    strategy, partition = advice["strategy"], advice["partition"]
    regions = [advice["primary_region"], *advice["target_regions"]]
    items: list[dict[str, Any]] = []
    not_priced: list[str] = [f"the standby itself: {_STANDBY[strategy]}"]
    assumptions = [f"the price table {table.label()}: list prices in USD, before any discount"]
    uses_plan = advice["traffic"].get("mechanism", "").startswith("ARC Region switch plan")
    if uses_plan:
        plan = _item(table, REGION_SWITCH, "ARC Region switch plan", 1, partition)
        if plan is None:
            not_priced.append(f"the ARC Region switch plan in partition {partition}")
        else:
            items.append(plan)
        assumptions.append("one Region switch plan for the workload (up to 100 execution blocks)")
    if advice["target_regions"] and strategy != "backup_restore":  # a restore is switched by hand
        checks = _item(
            table,
            HEALTH_CHECK,
            "Route 53 health check of an AWS endpoint (30 s interval)",
            len(regions),
            partition,
        )
        if checks is None:
            not_priced.append(f"Route 53 health checks in partition {partition}")
        else:
            items.append(checks)
            option = table.item(CHECK_OPTION).usd
            assumptions.append(
                f"one basic health check per Region ({', '.join(regions)}), pointed at the deep "
                f"health endpoint; a 10 s interval, HTTPS or string matching add ${option:.2f} "
                "a month each per check"
            )
    if strategy == "multi_site_active_active":
        not_priced.append("Route 53 ARC routing control clusters")
    for kind in dict.fromkeys(s["type"] for s in advice["data_stores"]):
        not_priced.append(_STORE_COST.get(kind, f"{kind}: its copies in the recovery Region"))
    if any("On-Demand Capacity Reservations" in note for note in advice["compute"]):
        fraction = table.item("savings_plan_max_discount").fraction or 0
        not_priced.append(
            "the On-Demand Capacity Reservations (billed like the On-Demand instances they hold; "
            f"Savings Plans take up to {fraction:.0%} off)"
        )
    if "bedrock" in advice:
        assumptions.append(
            "Bedrock on demand bills per token: an idle recovery Region adds no token cost "
            "(see `agentkit capacity` for the traffic's cost)"
        )
    return {
        "usd": _money(sum(i["usd"] for i in items)),
        "covers": "the priced building blocks only: a floor, not the whole bill",
        "prices": table.label(),
        "items": items,
        "not_priced": not_priced,
        "assumptions": assumptions,
    }
