"""The ``failover_runbook`` tool: find runbooks and return their steps in execution order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agentkit.runbooks.model import Runbook, load_all, validate
from agentkit.runbooks.plan import plan


def _matches(runbook: Runbook, request: dict[str, Any]) -> bool:
    spec = runbook.spec
    if request.get("runbook_ids"):
        return runbook.id in request["runbook_ids"]
    if request.get("scenario") and spec["scenario"] != request["scenario"]:
        return False
    if request.get("strategy") and request["strategy"] not in spec["strategies"]:
        return False
    services = set(request.get("services", []))
    return not services or bool(services & set(spec["services"]))


def find_runbooks(request: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    regions = request.get("regions") or {"source": "${source}", "target": "${target}"}
    found = [rb for rb in load_all() if _matches(rb, request)]
    if request.get("runbook_ids"):
        found.sort(key=lambda rb: request["runbook_ids"].index(rb.id))
    out = []
    for runbook in found[: request.get("max_runbooks", 4)]:
        p = plan(runbook, regions["source"], regions["target"])
        steps = [
            {
                "order": s["order"],
                "group": g,
                "parallel": group["parallel"],
                "id": s["id"],
                "type": s["type"],
                "title": s["title"],
                **({"approval": s["approval"]} if "approval" in s else {}),
            }
            for g, group in enumerate(p["groups"], start=1)
            for s in group["steps"]
        ]
        out.append(
            {
                "id": runbook.id,
                "version": runbook.version,
                "title": p["title"],
                "scenario": runbook.spec["scenario"],
                "regions": p["regions"],
                "rto_budget_s": p["rto_budget_s"],
                "prechecks": [c["description"] for c in p["prechecks"]],
                "approvals": [f"{a['id']}: {', '.join(a['roles'])}" for a in p["approvals"]],
                "steps": steps,
                "warnings": validate(runbook, today=today).warnings,
            }
        )
    return {"runbooks": out}
