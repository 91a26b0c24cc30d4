"""Every runbook id the DR advisor can name exists in runbooks/."""

from __future__ import annotations

from agentkit.agents.dr.advisor import runbooks_for
from agentkit.runbooks.model import load_all, runbook_dir


def stores(*kinds: str) -> list[dict[str, str]]:
    return [{"name": kind, "type": kind} for kind in kinds]


def test_every_runbook_the_advisor_names_exists() -> None:
    known = {runbook.id for runbook in load_all(runbook_dir())}
    cases = [
        ({"strategy": s, "target_regions": t, "partition": p}, {"data_stores": d, **extra})
        for s in ("backup_restore", "pilot_light", "warm_standby")
        for t in ([], ["x"])
        for p in ("aws", "aws-us-gov", "aws-cn")
        for d in (stores("aurora", "dynamodb", "rds", "s3", "elasticache", "ec2-db"),)
        for extra in ({"uses_bedrock": True},)
    ]
    named = {r for advice, req in cases for r in runbooks_for(advice, req)}
    named.add("cross-partition-recovery")
    assert named <= known, sorted(named - known)
