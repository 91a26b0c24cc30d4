"""Execution plans from runbooks: ordered groups, Region substitution, and exports.

Forward steps (those no other step names as its ``rollback``) are ordered by ``depends_on`` into
levels; the steps of one level do not depend on each other and form a parallel group. Order within
a level is the order of the file, so a plan is stable.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.runbooks.model import Runbook

_PLACEHOLDER = re.compile(r"\$\{(source|target)\}")


def substitute(value: Any, regions: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: regions[m.group(1)], value)
    if isinstance(value, dict):
        return {k: substitute(v, regions) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, regions) for v in value]
    return value


def forward_steps(runbook: Runbook) -> list[dict[str, Any]]:
    rollbacks = {step["rollback"] for step in runbook.steps if "rollback" in step}
    return [step for step in runbook.steps if step["id"] not in rollbacks]


def levels(steps: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    remaining = {step["id"]: step for step in steps}
    done: set[str] = set()
    out: list[list[dict[str, Any]]] = []
    while remaining:
        ready = [
            s
            for s in steps
            if s["id"] in remaining
            and all(d in done or d not in {x["id"] for x in steps} for d in s.get("depends_on", []))
        ]
        if not ready:
            raise ValueError("depends_on has a cycle")  # validate() reports it with context
        out.append(ready)
        for step in ready:
            done.add(step["id"])
            del remaining[step["id"]]
    return out


def plan(runbook: Runbook, source: str, target: str) -> dict[str, Any]:
    regions = {"source": source, "target": target}
    groups = []
    order = 0
    for level in levels(forward_steps(runbook)):
        entries = []
        for step in level:
            order += 1
            entries.append({"order": order, **substitute(step, regions)})
        groups.append({"parallel": len(entries) > 1, "steps": entries})
    rollbacks = {s["rollback"] for s in runbook.steps if "rollback" in s}
    return {
        "runbook": runbook.id,
        "version": runbook.version,
        "sha256": runbook.digest,
        "title": runbook.data["metadata"]["title"],
        "regions": substitute(runbook.spec["regions"], regions),
        "rto_budget_s": runbook.spec["rto_budget_s"],
        "prechecks": substitute(runbook.spec["prechecks"], regions),
        "approvals": runbook.spec["approvals"],
        "groups": groups,
        "rollback_steps": [substitute(s, regions) for s in runbook.steps if s["id"] in rollbacks],
        "verification": runbook.spec["verification"],
        "failback": runbook.spec["failback"],
    }


def render_markdown(p: dict[str, Any]) -> str:
    lines = [
        f"# {p['title']} ({p['runbook']} v{p['version']})",
        "",
        f"Source {p['regions']['source']} -> target {p['regions']['target']}; "
        f"RTO budget {p['rto_budget_s']} s; content sha256 {p['sha256'][:12]}",
        "",
        "## Prechecks",
    ]
    lines += [f"- [ ] {c['id']}: {c['description']}" for c in p["prechecks"]]
    lines += ["", "## Steps"]
    for group in p["groups"]:
        if group["parallel"]:
            lines.append("In parallel:")
        for step in group["steps"]:
            gate = f" (approval: {step['approval']})" if "approval" in step else ""
            indent = "  " if group["parallel"] else ""
            lines.append(
                f"{indent}{step['order']}. `{step['id']}` {step['title']} [{step['type']}]{gate}"
            )
    lines += ["", "## Verification"]
    lines += [
        f"- {v['metric']} {v['op']} {v['threshold']}"
        + (f" after {v['after_step']}" if "after_step" in v else "")
        for v in p["verification"]
    ]
    if p["rollback_steps"]:
        lines += ["", "## Rollback steps"] + [
            f"- `{s['id']}` {s['title']}" for s in p["rollback_steps"]
        ]
    lines += ["", "## Failback", p["failback"].get("notes") or p["failback"].get("runbook_ref", "")]
    return "\n".join(lines) + "\n"


def render_json(p: dict[str, Any]) -> str:
    return json.dumps(p, indent=2, sort_keys=True) + "\n"
