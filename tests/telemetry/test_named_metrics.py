"""Every metric the runbooks and docs/telemetry.md name is AWS's, one agentkit emits (as the
CloudWatch export publishes it), or the team's own application's, declared as such (the
CloudWatch export's are checked in test_exported_metrics.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentkit.config import AgentkitConfig
from agentkit.observe import adot
from agentkit.observe.adot import declared_sets
from agentkit.observe.build import build_stack
from agentkit.observe.model import Stack
from agentkit.ops import active
from agentkit.runbooks import load_all
from agentkit.telemetry import semconv as sc

ROOT = Path(__file__).resolve().parents[2]
# What agentkit records: the instrument names of semconv and of the ops view.
EMITTED = {
    value
    for module in (sc, active)
    for name, value in vars(module).items()
    if name.startswith("METRIC_") and isinstance(value, str)
} - {sc.METRIC_SIGNAL}  # published by the team's detectors, never by agentkit


# Names the review of issue 21 found in the runbooks: agent metrics agentkit never emitted.
NOT_EMITTED = {
    "App/agent AnswerSuccessRate",
    "App/agent ModelCalls",
    "App/tools ToolFailed",
    "App/agent RetrieveErrors",
    "App/guardrail InterventionRate",
    "App/guardrail PromptAttackDetections",
}


@pytest.fixture(scope="module")
def exported() -> Stack:
    """What ``agentkit observe export`` deploys for the default configuration."""
    return build_stack(AgentkitConfig(), load_all())


def test_runbook_verification_metrics_are_agentkits_as_exported_or_aws(exported: Stack) -> None:
    """A verification reads what CloudWatch holds: ``AWS/...`` as AWS names it; agentkit's own
    metric in the export's namespace with a dimension set the ADOT declarations publish (any
    other set would never reach CloudWatch); an alarm the export creates; or, declared with
    ``source: application``, the team's own application metric in an ``App/`` namespace."""
    published = declared_sets(exported)
    namespace = adot.namespace(exported)
    checked = 0
    for runbook in load_all():
        for check in runbook.spec["verification"]:
            where = f"{runbook.id} {check['id']}"
            checked += 1
            if "alarm" in check:
                assert check["alarm"] in exported.by_name, where
                continue
            assert check["metric"] not in NOT_EMITTED, where
            space, _, name = check["metric"].partition(" ")
            dims = tuple(sorted(check.get("dimensions", {})))
            if space == namespace:
                assert name in EMITTED, where
                assert dims in published.get(name, set()), (where, dims, published.get(name))
            elif check.get("source") == "application":
                assert space.startswith("App/"), where
            else:
                assert space.startswith("AWS/"), where
                assert "source" not in check, where
    assert checked


def test_the_agent_verifications_read_agentkits_metrics() -> None:
    """The facts agentkit records itself are verified on its metrics, not on App/ copies."""
    metrics = {
        (rb.id, check["id"]): check.get("metric") or f"alarm {check['alarm']}"
        for rb in load_all()
        for check in rb.spec["verification"]
    }
    assert metrics[("agent-kill-switch", "v_answers")] == "agentkit agentkit.answers"
    assert metrics[("mcp-tool-outage", "v_unanswered")] == "agentkit agentkit.answers"
    assert metrics[("kb-regional-failover", "v_retrieve")] == (
        "agentkit agentkit.knowledge.retrievals"
    )
    assert metrics[("prompt-injection-response", "v_detections")] == (
        "agentkit agentkit.guardrail.events"
    )
    # a share of the quota, as the export computes it, not raw tokens against 80
    assert metrics[("quota-exhaustion", "v_quota")] == "alarm bedrock-estimated-tpm-80pct"


def test_every_metric_in_the_docs_table_is_emitted() -> None:
    text = (ROOT / "docs" / "telemetry.md").read_text()
    table = text[text.index("## Metrics") : text.index("Alarm ideas")]
    named = {
        m
        for row in table.splitlines()
        if row.startswith("| `")
        for m in re.findall(r"`((?:agentkit|gen_ai)\.[a-z_.]+)`", row.split("|")[1])
    }
    assert named
    assert named <= EMITTED, named - EMITTED
    assert sc.METRIC_SIGNAL not in named  # the docs mark it as the team's, outside the table
