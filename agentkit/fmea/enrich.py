"""Optional model enrichment: the model may propose extra failure modes; code decides.

Proposals come back through a structured model step (a forced tool call validated against
``PROPOSALS``), are checked against the architecture (known components, no duplicate modes) and
scored by the engine like any catalog mode, marked ``proposed_by_model``. They never change the gate
unless asked. When the model tier is unavailable the run simply has no proposals.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.bedrock.types import ModelInterface
from agentkit.fmea.engine import Row
from agentkit.fmea.model import CLASSES, Architecture, FailureMode
from agentkit.graph.context import RunContext
from agentkit.graph.steps import structured_step
from agentkit.resilience.budget import BudgetLimits, RunBudget

_RATING = {"type": "integer", "minimum": 1, "maximum": 10}
PROPOSALS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "proposals": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "properties": {
                    "component": {"type": "string"},
                    "mode": {"type": "string", "minLength": 3},
                    "effect": {"type": "string", "minLength": 3},
                    "cause": {"type": "string", "minLength": 3},
                    "class": {"enum": list(CLASSES)},
                    "actions": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "s": _RATING,
                    "o": _RATING,
                    "d": _RATING,
                },
                "required": [
                    "component",
                    "mode",
                    "effect",
                    "cause",
                    "class",
                    "actions",
                    "s",
                    "o",
                    "d",
                ],
                "additionalProperties": False,
            },
        }
    },
    "required": ["proposals"],
    "additionalProperties": False,
}
INSTRUCTIONS = (
    "You review a failure mode and effects analysis of a cloud architecture. Propose failure modes "
    "the worksheet misses, only for the listed component ids, with severity, occurrence and "
    "detection on 1-10 scales. Do not repeat listed modes. Call propose_failure_modes once."
)


def propose(
    model: ModelInterface, architecture: Architecture, rows: list[Row], max_tokens: int = 2048
) -> tuple[list[tuple[str, FailureMode]], str | None]:
    """(validated proposals, why there are none when the model tier could not answer)."""
    ctx = RunContext(
        agent="fmea-enrichment",
        budget=RunBudget(BudgetLimits(tokens=50_000)),
        model=model,
        max_tokens=max_tokens,
    )
    listing = {
        "components": architecture.components,
        "worksheet": [{"component": r.component, "mode": r.failure_mode} for r in rows],
    }
    outcome = structured_step(
        ctx,
        name="propose_failure_modes",
        description="Propose missing failure modes.",
        schema=PROPOSALS,
        system=[{"text": INSTRUCTIONS}],
        messages=[{"role": "user", "content": [{"text": json.dumps(listing, default=str)}]}],
        fallback=lambda: {"proposals": []},
    )
    if outcome.source == "degraded":
        return [], outcome.reason
    known = {c["id"] for c in architecture.components}
    seen = {(r.component, r.failure_mode.lower()) for r in rows}
    accepted: list[tuple[str, FailureMode]] = []
    for index, item in enumerate(outcome.value.get("proposals", [])):
        key = (item["component"], item["mode"].lower())
        if item["component"] not in known or key in seen:
            continue
        seen.add(key)
        accepted.append(
            (
                item["component"],
                FailureMode.model_validate(
                    {
                        "id": f"proposed-{index + 1}",
                        "class": item["class"],
                        "dimension": "proposed",
                        "hub_category": "proposed",
                        "mode": item["mode"],
                        "effect": item["effect"],
                        "cause": item["cause"],
                        "prevention": "",
                        "detection": "",
                        "actions": item["actions"],
                        "s": item["s"],
                        "o": item["o"],
                        "d": item["d"],
                    }
                ),
            )
        )
    return accepted, None
