"""The deterministic requirements parser: the DR advisor's fallback for the extract step, and
the ground truth the model's extraction is checked against.

It understands "RTO 15 minutes", "RPO of 30s", "4h", "RPO zero", follow-ups such as "relax the
RTO to 3 hours", Region codes and common Region names ("Frankfurt", "N. Virginia"), data store
engines ("Aurora MySQL", "RDS for Oracle", "Valkey"), compute, tiers, budget sensitivity, whether
the workload uses Bedrock, and residency phrases ("data must stay in the EU", "EEA only",
"must not leave Germany", "Daten müssen in der EU bleiben"). A residency it cannot map, or a
database it does not know, is reported, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentkit.regions import geography_token, is_known_region, unreadable_residency

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
    # German, French, Spanish
    "sekunden": 1 / 60,
    "sekunde": 1 / 60,
    "secondes": 1 / 60,
    "seconde": 1 / 60,
    "segundos": 1 / 60,
    "segundo": 1 / 60,
    "minuten": 1,
    "minutos": 1,
    "minuto": 1,
    "stunden": 60,
    "stunde": 60,
    "heures": 60,
    "heure": 60,
    "horas": 60,
    "hora": 60,
    "tage": 1440,
    "tag": 1440,
    "jours": 1440,
    "jour": 1440,
    "días": 1440,
    "dias": 1440,
}
_DURATION = (
    r"(?P<value>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|sekunden?|secondes?|"
    r"segundos?|minuten|minutos?|stunden?|heures?|horas?|tage?|jours?|d[ií]as)\b"
)
_ZERO = r"(?P<zero>zero|0|none|no data loss)"
_TARGET = (
    r"\b{name}\b(?:\s+(?:target|objective|goal))?\s*"
    r"(?:(?:is|of|=|:|<=|<|to|at|be|now|under|below|within|must be|should be|von|de|da)\s*){{0,2}}"
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
# Region codes of every partition: us-east-1, us-gov-west-1, eusc-de-east-1, us-isob-east-1.
_REGION_CODE = re.compile(
    r"\b(?:us-gov|us-iso[bfe]?|eu-isoe|eusc|us|eu|ap|ca|sa|me|af|il|mx|cn)(?:-[a-z]+)+-\d+\b"
)
_SPELLED = {"rto": "rto|recovery time objective", "rpo": "rpo|recovery point objective"}
# Engine and service names -> store type, longest first so "Aurora MySQL" is never also RDS.
STORES: dict[str, str] = {
    # An agent's own stores: Knowledge Bases, their vector stores, agent memory.
    "bedrock agentcore memory": "agentcore-memory",
    "agentcore memory": "agentcore-memory",
    "amazon opensearch serverless": "opensearch-serverless",
    "opensearch serverless": "opensearch-serverless",
    "aoss": "opensearch-serverless",
    "pgvector": "aurora-pgvector",
    "s3 vectors": "s3-vectors",
    "s3 vector bucket": "s3-vectors",
    "s3 vector buckets": "s3-vectors",
    "neptune analytics": "neptune-analytics",
    "pinecone": "pinecone",
    "redis enterprise cloud": "redis-enterprise-cloud",
    "redis enterprise": "redis-enterprise-cloud",
    "mongodb atlas": "mongodb-atlas",
    "knowledge bases": "knowledge-base",
    "knowledge base": "knowledge-base",
    "aurora postgresql": "aurora",
    "aurora postgres": "aurora",
    "aurora mysql": "aurora",
    "aurora serverless": "aurora",
    "aurora": "aurora",
    "rds for postgresql": "rds",
    "rds for mysql": "rds",
    "rds for mariadb": "rds",
    "rds for oracle": "rds",
    "rds for sql server": "rds",
    "rds for db2": "rds",
    "rds": "rds",
    "postgresql": "rds",
    "postgres": "rds",
    "mysql": "rds",
    "mariadb": "rds",
    "sql server": "rds",
    "dynamodb": "dynamodb",
    "dynamo": "dynamodb",
    "s3": "s3",
    "elasticache": "elasticache",
    "redis oss": "elasticache",
    "redis": "elasticache",
    "valkey": "elasticache",
    "memcached": "elasticache",
    "opensearch": "opensearch",
    "elasticsearch": "opensearch",
    "efs": "efs",
    "documentdb": "documentdb",
    "neptune": "neptune",
    "self-managed database": "ec2-db",
    "database on ec2": "ec2-db",
    "ec2 database": "ec2-db",
}
# Vector stores a Knowledge Base can use: named, they stand for the Knowledge Base too.
KB_VECTOR_STORES = frozenset(
    {
        "opensearch-serverless",
        "aurora-pgvector",
        "s3-vectors",
        "neptune-analytics",
        "pinecone",
        "redis-enterprise-cloud",
        "mongodb-atlas",
    }
)
# "Aurora PostgreSQL with pgvector" is one store (the vector store), not Aurora and pgvector.
_PGVECTOR = re.compile(
    r"\baurora(?:\s+postgres(?:ql)?)?(?:\s+(?:with|using|and|\+|on))?\s*\(?\s*(?:the\s+)?"
    r"pgvector\b\)?"
)
# Databases agentkit has no mapping for: asked about, never guessed.
UNKNOWN_STORES = (
    "mongodb",
    "cassandra",
    "couchbase",
    "cockroachdb",
    "clickhouse",
    "influxdb",
    "scylladb",
    "keyspaces",
    "memorydb",
    "timestream",
    "redshift",
    "oracle",
    "db2",
)
COMPUTE = {
    "ecs": "ecs",
    "fargate": "fargate",
    "eks": "eks",
    "kubernetes": "eks",
    "lambda": "lambda",
    "ec2": "ec2",
}
_BEDROCK = re.compile(
    r"\b(bedrock|claude|anthropic|nova|llama|mistral|llms?|gen[- ]?ai|generative ai|"
    r"foundation models?|inference profiles?|knowledge bases?|rag|chatbot|agents?|agentic|"
    r"agentcore)\b",
    re.IGNORECASE,
)
_PLACE = r"(?:the\s+|der\s+|l'|la\s+|le\s+)?(?P<geo>[\w.' -]+?)"
_END = r"(?=[.,;:!?)]|$|\s+(?:and|but|for|because|so|with|only|at all times|und|et|y)\b)"
_RESIDENCY_PATTERNS = tuple(
    re.compile(pattern + _END, re.IGNORECASE)
    for pattern in (
        r"\b(?:data|it|everything|workloads?|pii|records)\s+(?:must|has to|have to|needs to|need "
        r"to|should|shall|can only|may only)\s+(?:stay|remain|be kept|live|be stored|be "
        r"processed|reside)\s+(?:in|within|inside)\s+" + _PLACE,
        r"\b(?:must not|mustn't|cannot|can't|may not|should not|never)\s+leave\s+" + _PLACE,
        r"\bkeep\s+(?:all\s+)?(?:the\s+|our\s+)?data\s+(?:in|within|inside)\s+" + _PLACE,
        r"\b(?:data\s+)?residency\s*(?::|=|in|is|of)\s*" + _PLACE,
        r"\bdaten\s+m(?:ü|ue)ssen\s+(?:in|innerhalb)\s+" + _PLACE + r"\s+bleiben",
        r"\bdonn[ée]es\s+doivent\s+rester\s+(?:dans|en|au)\s+" + _PLACE,
        r"\bdatos\s+deben\s+(?:permanecer|quedarse)\s+en\s+" + _PLACE,
    )
)
_RESIDENCY_SHORT = re.compile(
    r"\b(?P<geo>[a-z][\w-]*?)[- ]only\s+(?:data|residency)\b|"
    r"\b(?P<geo2>[a-z][\w-]*?)\s+(?:data residency|residency)\b",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"\s+(?:regions?|only|area|geography|zone)$")
_CANDIDATE = re.compile(
    r"\b(?:fail(?:s|ing)?\s*over|failover|recover(?:y)?|dr|secondary|standby|backup|"
    r"replicate)\s+(?:region\s+)?(?:to|in|into|at|on)?\s*(?:the\s+)?$",
    re.IGNORECASE,
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
    uses_bedrock: bool | None = None
    unknown_stores: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the text said that cannot be used

    def missing(self) -> list[str]:
        return [name for name in ("rto_minutes", "rpo_minutes") if getattr(self, name) is None]

    def merged_over(self, earlier: Requirements) -> Requirements:
        """These requirements, with gaps filled from an earlier turn of the conversation; stores
        and compute add up, everything else said again replaces what was said before."""
        merged = Requirements()
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(earlier, name)
            if name in ("data_stores", "compute", "unknown_stores"):
                setattr(merged, name, _union(theirs, mine))
            elif name == "problems":
                merged.problems = list(mine)
            else:
                setattr(merged, name, mine if mine not in (None, []) else theirs)
        return merged

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, []) and k != "problems"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Requirements:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    out = list(first)
    out += [item for item in second if item not in out]
    return out


def _minutes(match: re.Match[str]) -> float:
    if match.group("zero"):
        return 0.0
    value = float(match.group("value")) * _UNITS[match.group("unit").lower()]
    return round(value, 4)


def _target(text: str, name: str) -> float | None:
    pattern = _TARGET.format(name=f"(?:{_SPELLED[name]})", duration=_DURATION, zero=_ZERO)
    match = re.search(pattern, text, re.IGNORECASE)
    return _minutes(match) if match else None


def _regions(text: str) -> tuple[list[str], list[str]]:
    """(Regions named, in order; those named as a failover target)."""
    lowered = text.lower()
    found: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _REGION_CODE.finditer(lowered)]
    for name, code in REGION_NAMES.items():
        for match in re.finditer(rf"\b{re.escape(name)}\b", lowered):
            found.append((match.start(), code))
    ordered: list[str] = []
    targets: list[str] = []
    for start, code in sorted(found):
        if code not in ordered:
            ordered.append(code)
        if _CANDIDATE.search(lowered[max(0, start - 40) : start]) and code not in targets:
            targets.append(code)
    return ordered, targets


def _stores(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """(data stores with the engine as written, databases agentkit cannot map)."""
    lowered = _PGVECTOR.sub("pgvector", text.lower())
    stores: list[dict[str, str]] = []
    for name, kind in STORES.items():
        pattern = rf"\b{re.escape(name)}\b"
        if re.search(pattern, lowered):
            lowered = re.sub(pattern, " ", lowered)  # "Aurora MySQL" is not also MySQL
            if all(s["type"] != kind for s in stores):
                stores.append({"name": kind, "type": kind, "engine": name})
    unknown = [n for n in UNKNOWN_STORES if re.search(rf"\b{re.escape(n)}\b", lowered)]
    if any(s["type"] in KB_VECTOR_STORES for s in stores):
        stores = [s for s in stores if s["type"] != "knowledge-base"]
    return stores, unknown


def _compute(text: str) -> list[dict[str, str]]:
    lowered = text.lower()
    kinds = [k for w, k in COMPUTE.items() if re.search(rf"\b{re.escape(w)}\b", lowered)]
    if "fargate" in kinds and "ecs" not in kinds:
        kinds[kinds.index("fargate")] = "ecs"
    return [{"type": kind} for kind in dict.fromkeys(kinds)]


def _residency(text: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """(residency entries, problems, spans of the residency phrases)."""
    entries: list[str] = []
    problems: list[str] = []
    spans: list[tuple[int, int]] = []
    matches = [m for p in _RESIDENCY_PATTERNS for m in p.finditer(text)]
    matches += [
        m
        for m in _RESIDENCY_SHORT.finditer(text)
        if _geography(m.group("geo") or m.group("geo2") or "")
    ]
    for match in matches:
        phrase = (match.groupdict().get("geo") or match.groupdict().get("geo2") or "").strip()
        spans.append(match.span())
        for part in re.split(r"\s*(?:,|/|\bor\b|\band\b|\boder\b|\bou\b|\bo\b)\s*", phrase):
            token = _geography(part)
            if token and token not in entries:
                entries.append(token)
            elif not token and part.strip():
                problems.append(unreadable_residency(part.strip()))
    return entries, problems, spans


def _geography(phrase: str) -> str | None:
    cleaned = _TRAILING.sub("", phrase.strip().strip(".'\"").lower())
    token = geography_token(cleaned)
    if token:
        return token
    return cleaned if is_known_region(cleaned) else None


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
    residency, problems, spans = _residency(text)
    outside = text
    for begin, end in spans:  # a country in a residency phrase is not a Region named
        outside = outside[:begin] + " " * (end - begin) + outside[end:]
    regions, targets = _regions(outside)
    primaries = [r for r in regions if r not in targets]
    stores, unknown = _stores(text)
    req = Requirements(
        workload=_workload(text),
        rto_minutes=_target(text, "rto"),
        rpo_minutes=_target(text, "rpo"),
        tier=_tier(text),
        budget_sensitivity=_budget(text),
        primary_region=primaries[0] if primaries else None,
        candidate_regions=[r for r in regions if r != (primaries[0] if primaries else None)],
        residency=residency,
        data_stores=stores,
        compute=_compute(text),
        uses_bedrock=True if _BEDROCK.search(text) else None,
        unknown_stores=unknown,
        problems=problems,
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
