"""Topic scope: an agent answers questions about its domain and politely refuses the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass

DR_SCOPE = (
    "disaster recovery",
    "dr",
    "resilien",
    "failover",
    "fail over",
    "failback",
    "backup",
    "restore",
    "rto",
    "rpo",
    "recovery",
    "outage",
    "region",
    "availability zone",
    "multi-az",
    "multi-region",
    "pilot light",
    "warm standby",
    "active/active",
    "active-active",
    "standby",
    "replica",
    "replication",
    "runbook",
    "fmea",
    "failure mode",
    "capacity",
    "quota",
    "throttl",
    "tpm",
    "rpm",
    "bedrock",
    "aurora",
    "rds",
    "dynamodb",
    "s3",
    "elasticache",
    "route 53",
    "route53",
    "arc",
    "ecs",
    "eks",
    "lambda",
    "fargate",
    "ec2",
    "aws",
    "sla",
    "slo",
    "incident",
    "game day",
    "chaos",
    "circuit breaker",
    "residency",
    "cross-region",
    "cris",
    "inference profile",
    "data store",
    "database",
    "workload",
    "tier",
    "downtime",
    "data loss",
    "switchover",
)
_OFF_TOPIC_HINTS = re.compile(
    r"\b(poem|song|lyrics|joke|recipe|weather|horoscope|stock|stocks|crypto|bitcoin|dating|"
    r"movie|sports?|football|celebrity|homework|essay)\b",
    re.IGNORECASE,
)
REFUSAL = (
    "I'm the DR advisor: I can help with disaster recovery, failover, RTO/RPO targets, runbooks "
    "and resilience on AWS, but not with that. What would you like to know about your workload's "
    "recovery?"
)


@dataclass(frozen=True)
class TopicScope:
    keywords: tuple[str, ...] = DR_SCOPE
    refusal: str = REFUSAL


@dataclass(frozen=True)
class TopicVerdict:
    in_scope: bool
    reason: str


def _mentions(text: str, keyword: str) -> bool:
    if len(keyword) <= 4 and keyword.isalnum():
        return re.search(rf"\b{re.escape(keyword)}\b", text) is not None
    return keyword in text


def check_topic(text: str, scope: TopicScope = TopicScope()) -> TopicVerdict:
    lowered = text.lower()
    hits = [k for k in scope.keywords if _mentions(lowered, k)]
    off = _OFF_TOPIC_HINTS.search(lowered)
    if hits and not (off and len(hits) == 1 and hits[0] in ("aws", "region", "tier")):
        return TopicVerdict(True, f"mentions {hits[0]}")
    if re.search(r"\b(hi|hello|hey|thanks|thank you)\b", lowered) and len(lowered.split()) <= 4:
        return TopicVerdict(True, "greeting")
    return TopicVerdict(
        False, f"off topic ({off.group(0)})" if off else "no resilience topic found"
    )
