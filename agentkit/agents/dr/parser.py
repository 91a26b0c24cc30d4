"""The deterministic requirements parser: the DR advisor's fallback for the extract step, and
the ground truth the model's extraction is checked against.

It understands "RTO 15 minutes", "RPO of 30s", "4h", "RPO zero", Region codes and common Region
names ("Frankfurt", "N. Virginia"), data store and compute names, tiers, budget sensitivity and
residency phrases such as "data must stay in the EU".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_UNITS = {
    "s": 1 / 60,
    "sec": 1 / 60,
    "secs": 1 / 60,
    "second": 1 / 60,
    "seconds": 1 / 60,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "d": 1440,
    "day": 1440,
    "days": 1440,
}
_DURATION = (
    r"(?P<value>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b"
)
_ZERO = r"(?P<zero>zero|0|none|no data loss)"
_TARGET = (
    r"\b{name}\b(?:\s+(?:target|objective|goal))?\s*"
    r"(?:is|of|=|:|<=|<|under|below|within|must be|should be)?"
    r"\s*(?:about\s+|around\s+|~\s*)?(?:{duration}|{zero})"
)

REGION_NAMES = {
    "n. virginia": "us-east-1",
    "north virginia": "us-east-1",
    "virginia": "us-east-1",
    "ohio": "us-east-2",
    "oregon": "us-west-2",
    "n. california": "us-west-1",
    "ireland": "eu-west-1",
    "dublin": "eu-west-1",
    "london": "eu-west-2",
    "paris": "eu-west-3",
    "frankfurt": "eu-central-1",
    "zurich": "eu-central-2",
    "stockholm": "eu-north-1",
    "milan": "eu-south-1",
    "spain": "eu-south-2",
    "tokyo": "ap-northeast-1",
    "seoul": "ap-northeast-2",
    "osaka": "ap-northeast-3",
    "mumbai": "ap-south-1",
    "hyderabad": "ap-south-2",
    "singapore": "ap-southeast-1",
    "sydney": "ap-southeast-2",
    "jakarta": "ap-southeast-3",
    "melbourne": "ap-southeast-4",
    "canada": "ca-central-1",
    "sao paulo": "sa-east-1",
    "são paulo": "sa-east-1",
    "bahrain": "me-south-1",
    "uae": "me-central-1",
    "govcloud": "us-gov-west-1",
    "beijing": "cn-north-1",
    "ningxia": "cn-northwest-1",
}
_REGION_CODE = re.compile(r"\b(?:us-gov|us|eu|ap|ca|sa|me|af|il|mx|cn|eusc)-[a-z]+-\d\b")
STORES = {
    "aurora": "aurora",
    "rds": "rds",
    "postgres": "rds",
    "mysql": "rds",
    "dynamodb": "dynamodb",
    "dynamo": "dynamodb",
    "s3": "s3",
    "elasticache": "elasticache",
    "redis": "elasticache",
    "valkey": "elasticache",
    "opensearch": "opensearch",
    "efs": "efs",
    "self-managed database": "ec2-db",
    "database on ec2": "ec2-db",
    "ec2 database": "ec2-db",
}
COMPUTE = {
    "ecs": "ecs",
    "fargate": "fargate",
    "eks": "eks",
    "kubernetes": "eks",
    "lambda": "lambda",
    "ec2": "ec2",
}
_GEOGRAPHIES = {
    "eu": "eu",
    "europe": "eu",
    "european union": "eu",
    "us": "us",
    "united states": "us",
    "usa": "us",
    "apac": "apac",
    "asia pacific": "apac",
    "japan": "jp",
    "australia": "au",
}
_RESIDENCY = re.compile(
    r"\b(?:data|it|everything|workloads?)\s+(?:must|has to|needs to|should)\s+"
    r"(?:stay|remain|be kept|live)\s+(?:in|within|inside)\s+(?:the\s+)?(?P<geo>[a-z0-9. -]+?)\b"
    r"(?:[.,;:!?)]|$|\s+(?:and|but|for|because))",
    re.IGNORECASE,
)
_RESIDENCY_SHORT = re.compile(
    r"\b(?P<geo>eu|us|apac)[- ](?:only|residency|data residency)\b", re.IGNORECASE
)


@dataclass
class Requirements:
    """What the question said; ``None`` where it said nothing."""

    workload: str | None = None
    rto_minutes: float | None = None
    rpo_minutes: float | None = None
    tier: int | None = None
    budget_sensitivity: str | None = None
    primary_region: str | None = None
    candidate_regions: list[str] = field(default_factory=list)
    residency: list[str] = field(default_factory=list)
    data_stores: list[dict[str, str]] = field(default_factory=list)
    compute: list[dict[str, str]] = field(default_factory=list)
    allow_global_cris: bool | None = None
    unplanned_failover_in_scope: bool | None = None

    def missing(self) -> list[str]:
        return [name for name in ("rto_minutes", "rpo_minutes") if getattr(self, name) is None]

    def merged_over(self, earlier: Requirements) -> Requirements:
        """These requirements, with gaps filled from an earlier turn of the conversation."""
        merged = Requirements()
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(earlier, name)
            setattr(merged, name, mine if mine not in (None, []) else theirs)
        return merged

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}


def _minutes(match: re.Match[str]) -> float:
    if match.group("zero"):
        return 0.0
    value = float(match.group("value")) * _UNITS[match.group("unit").lower()]
    return round(value, 4)


def _target(text: str, name: str) -> float | None:
    pattern = _TARGET.format(name=name, duration=_DURATION, zero=_ZERO)
    match = re.search(pattern, text, re.IGNORECASE)
    return _minutes(match) if match else None


def _regions(text: str) -> list[str]:
    lowered = text.lower()
    found: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _REGION_CODE.finditer(lowered)]
    for name, code in REGION_NAMES.items():
        for match in re.finditer(rf"\b{re.escape(name)}\b", lowered):
            found.append((match.start(), code))
    ordered: list[str] = []
    for _, code in sorted(found):
        if code not in ordered:
            ordered.append(code)
    return ordered


def _named(text: str, table: dict[str, str], key: str) -> list[dict[str, str]]:
    lowered = text.lower()
    kinds: list[str] = []
    for word, kind in table.items():
        if re.search(rf"\b{re.escape(word)}\b", lowered) and kind not in kinds:
            kinds.append(kind)
    if key == "type" and "aurora" in kinds and "rds" in kinds and "rds" not in lowered:
        kinds.remove("rds")  # "Aurora PostgreSQL" is Aurora, not RDS
    if table is COMPUTE and "fargate" in kinds and "ecs" not in kinds:
        kinds[kinds.index("fargate")] = "ecs"
    return [{"name": kind, "type": kind} if key == "store" else {"type": kind} for kind in kinds]


def _residency(text: str) -> list[str]:
    match = _RESIDENCY.search(text) or _RESIDENCY_SHORT.search(text)
    if match is None:
        return []
    phrase = match.group("geo").strip().lower().rstrip(".")
    for name, geography in _GEOGRAPHIES.items():
        if phrase == name or phrase.startswith(name + " "):
            return [geography]
    return _regions(phrase)


def _tier(text: str) -> int | None:
    match = re.search(r"\btier[\s-]?([0-3])\b", text, re.IGNORECASE)
    if match:
        return int(match.group(1))
    if re.search(r"\bmission[- ]critical\b", text, re.IGNORECASE):
        return 0
    return None


def _budget(text: str) -> str | None:
    lowered = text.lower()
    if re.search(
        r"\b(cost[- ]sensitive|tight budget|budget is tight|cheap|cheapest|low cost)\b", lowered
    ):
        return "high"
    if re.search(
        r"\b(cost is no (object|concern)|money is no object|whatever it costs)\b", lowered
    ):
        return "low"
    return None


_NOT_WORKLOADS = frozenset(
    {
        "cost-sensitive",
        "mission-critical",
        "active-active",
        "multi-site",
        "multi-region",
        "multi-az",
        "cross-region",
        "low-cost",
        "self-managed",
        "real-time",
        "in-region",
        "read-only",
        "warm-standby",
        "pilot-light",
        "e-mail",
        "non-critical",
        "single-az",
        "follow-up",
    }
)


def _workload(text: str) -> str | None:
    named = re.search(
        r"\b([A-Za-z][A-Za-z0-9]*)\s+(api|service|app|platform)\b", text, re.IGNORECASE
    )
    if named and named.group(1).lower() not in ("our", "the", "this", "an", "a", "my", "which"):
        return f"{named.group(1)}-{named.group(2)}".lower()
    for match in re.finditer(r"\b([a-z][a-z0-9]*(?:[-_][a-z0-9]+)+)\b", text):
        name = match.group(1)
        if (
            name not in _NOT_WORKLOADS
            and not _REGION_CODE.fullmatch(name)
            and not name.startswith("tier")
        ):
            return name
    return None


def parse_requirements(text: str) -> Requirements:
    regions = _regions(text)
    residency = _residency(text)
    req = Requirements(
        workload=_workload(text),
        rto_minutes=_target(text, "rto"),
        rpo_minutes=_target(text, "rpo"),
        tier=_tier(text),
        budget_sensitivity=_budget(text),
        primary_region=regions[0] if regions else None,
        candidate_regions=regions[1:],
        residency=residency,
        data_stores=_named(text, STORES, "store"),
        compute=_named(text, COMPUTE, "compute"),
    )
    if re.search(
        r"\bglobal (cris|cross-region inference|inference profiles?)\b.*\b(ok|allowed|fine)\b",
        text,
        re.IGNORECASE,
    ):
        req.allow_global_cris = True
    if re.search(r"\b(planned|graceful) (failover|switchover) only\b", text, re.IGNORECASE):
        req.unplanned_failover_in_scope = False
    return req
