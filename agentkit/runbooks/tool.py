"""The ``failover_runbook`` tool: find runbooks and return their steps in execution order."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from agentkit.regions import is_known_region
from agentkit.runbooks.model import Runbook, load_all, runbook_dir, validate
from agentkit.runbooks.plan import plan
from agentkit.runbooks.rules import in_region, region_pair_problem


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


def _stamp(root: Path) -> tuple[tuple[str, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(root.glob("*.yaml")))


@functools.lru_cache(maxsize=4)
def _catalog(
    root: Path, stamp: tuple[tuple[str, int], ...], today: dt.date
) -> list[tuple[Runbook, list[str]]]:
    """Runbooks with their warnings, parsed and validated once per change of the folder."""
    return [(rb, validate(rb, root=root, today=today).warnings) for rb in load_all(root)]


def _pair_warnings(runbook: Runbook, regions: dict[str, str]) -> list[str]:
    """A Region pair the runbook cannot run on is a warning here (``plan`` refuses it)."""
    source, target = regions["source"], regions["target"]
    if not (is_known_region(source) and is_known_region(target)):
        return []
    problem = region_pair_problem(runbook, source, source if in_region(runbook) else target)
    return [problem] if problem else []


def find_runbooks(request: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    regions = request.get("regions") or {"source": "${source}", "target": "${target}"}
    root = runbook_dir()
    catalog = _catalog(root, _stamp(root), today or dt.date.today())
    warnings = {rb.id: found for rb, found in catalog}
    found = [rb for rb, _ in catalog if _matches(rb, request)]
    if not request.get("runbook_ids"):  # a search skips runbooks the Region pair cannot run
        found = [rb for rb in found if not _pair_warnings(rb, regions)]
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
                "warnings": warnings[runbook.id] + _pair_warnings(runbook, regions),
                "strategies": p["strategies"],
                "critical_path_s": p["critical_path_s"],
            }
        )
    return {"runbooks": out}
