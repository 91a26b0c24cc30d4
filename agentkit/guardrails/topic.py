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
    "recommend",
    "recover",
    "ci/cd",
    "pipeline",
    "is down",
    "went down",
    "goes down",
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
    "gameday",
    "emulator",
    "agentkit",
    "tokens per minute",
    "tokens per day",
    "handoff",
    "hand-off",
    "degraded",
    "retry",
    "retries",
    "backoff",
    "botocore",
    "boto3",
    "gateway",
    "fallback",
    "guardrail",
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
    # SRE vocabulary: operating a workload is in scope, and these words must never read as
    # off topic ("drop the previous messages in the SQS DLQ", "kill the runaway lambda").
    "sqs",
    "dlq",
    "dead-letter",
    "dead letter",
    "queue",
    "sns",
    "kinesis",
    "kafka",
    "step functions",
    "state machine",
    "alarm",
    "cloudwatch",
    "on-call",
    "on call",
    "oncall",
    "pager",
    "paged",
    "postmortem",
    "post-mortem",
    "latency",
    "error rate",
    "timeout",
    "health check",
    "healthcheck",
    "dns",
    "load balancer",
    "alb",
    "nlb",
    "cloudfront",
    "vpc",
    "nat gateway",
    "subnet",
    "az",
    "kubernetes",
    "k8s",
    "kubectl",
    "pod",
    "container",
    "redis",
    "postgres",
    "mysql",
    "mongodb",
    "snapshot",
    "replica lag",
    "rollback",
    "roll back",
    "deploy",
    "canary",
    "blast radius",
    "runaway",
    "drill",
    "rehearse",
    "goes dark",
    "go dark",
    "went dark",
    "data center",
    "datacenter",
    "data centre",
    "split brain",
    "sre",
    "iam",
    "kms",
    "secrets manager",
    "cutover",
    "cut over",
    "redrive",
    "autoscaling",
    "auto scaling",
    "asg",
    # the same domain in the other languages the guard reads
    "reprise",
    "sinistre",
    "wiederherstellung",
    "ausfall",
    "recuperación",
    "desastre",
    "ripristino",
    "recuperação",
    "herstel",
    "容灾",
    "灾难恢复",
    "故障转移",
    "フェイルオーバー",
    "障害",
    "восстановлен",
    "отказоустойчив",
    "резервн",
)
# Words that are in scope only when nothing in the question points elsewhere.
WEAK_SCOPE = frozenset(
    {
        "aws",
        "region",
        "tier",
        "recommend",
        "queue",
        "pod",
        "container",
        "deploy",
        "latency",
        "timeout",
        "az",
    }
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
    if len(keyword) <= 4 and keyword.isalnum() and keyword.isascii():
        return re.search(rf"\b{re.escape(keyword)}\b", text) is not None
    return keyword in text


MAX_TOPIC_SCAN = 20_000  # a question states its topic early; a long paste need not be read whole


def check_topic(text: str, scope: TopicScope = TopicScope()) -> TopicVerdict:
    lowered = text[:MAX_TOPIC_SCAN].lower()
    off = _OFF_TOPIC_HINTS.search(lowered)
    weak: str | None = None
    for keyword in scope.keywords:
        if not _mentions(lowered, keyword):
            continue
        if keyword not in WEAK_SCOPE:
            return TopicVerdict(True, f"mentions {keyword}")
        weak = weak or keyword
    if weak is not None and not off:
        return TopicVerdict(True, f"mentions {weak}")
    if re.search(r"\b(hi|hello|hey|thanks|thank you)\b", lowered) and len(lowered.split()) <= 4:
        return TopicVerdict(True, "greeting")
    return TopicVerdict(
        False, f"off topic ({off.group(0)})" if off else "no resilience topic found"
    )
