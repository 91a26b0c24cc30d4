"""Every metric the runbooks and docs/telemetry.md name is AWS's, the team's own application's,
or one agentkit emits (the CloudWatch export's are checked in test_exported_metrics.py)."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_runbook_verification_metrics_are_aws_or_the_applications() -> None:
    """``AWS/...`` is a service's CloudWatch metric, ``App/...`` the team's own application's;
    a runbook that named an agentkit metric would have to name one agentkit emits."""
    for runbook in load_all():
        for check in runbook.spec["verification"]:
            namespace, _, name = check["metric"].partition(" ")
            assert namespace.startswith(("AWS/", "App/")) or name in EMITTED, (
                f"{runbook.id} {check['id']}: {check['metric']}"
            )


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
