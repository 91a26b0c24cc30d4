"""Execution plans from runbooks: ordered groups, Region substitution, and exports.

Forward steps (those no other step names as its ``rollback``) are ordered by ``depends_on`` into
levels; the steps of one level do not depend on each other and form a parallel group. Order within
a level is the order of the file, so a plan is stable. A plan carries the critical path (the
longest ``depends_on`` chain, by ``budget_s`` or ``timeout_s``) and warns when it exceeds the
runbook's RTO budget. :func:`check_regions` refuses a Region pair the runbook cannot run on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.errors import InputError
from agentkit.ops.steps import step_action
from agentkit.runbooks import rules
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


def check_regions(runbook: Runbook, source: str, target: str | None) -> str:
    """The target Region to plan with; :class:`InputError` for an unknown Region or a pair the
    runbook cannot run on (another partition, outside its pinned partition)."""
    from agentkit.regions import require_known_region

    require_known_region(source, InputError)
    if target is None:
        if not rules.in_region(runbook):
            raise InputError(f"{runbook.id} moves work to another Region: give --to")
        target = source
    require_known_region(target, InputError)
    problem = rules.region_pair_problem(runbook, source, target)
    if problem:
        raise InputError(problem)
    return target


def plan(runbook: Runbook, source: str, target: str) -> dict[str, Any]:
    from agentkit.runbooks.timing import recovery_time

    regions = {"source": source, "target": target}
    timing = recovery_time(runbook)
    budget = timing.warning()
    groups = []
    order = 0
    for level in levels(rules.forward(runbook)):
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
        "description": runbook.data["metadata"].get("description"),
        "regions": substitute(runbook.spec["regions"], regions),
        "rto_budget_s": runbook.spec["rto_budget_s"],
        "strategies": list(runbook.spec["strategies"]),
        "in_region": rules.in_region(runbook),
        "critical_path_s": timing.steps_s,
        "critical_path": list(timing.critical_path),
        "recovery_time": timing.as_dict(),
        "warnings": [budget] if budget else [],
        "prechecks": substitute(runbook.spec["prechecks"], regions),
        "approvals": runbook.spec["approvals"],
        "groups": groups,
        "rollback_steps": [substitute(s, regions) for s in runbook.steps if s["id"] in rollbacks],
        "verification": substitute(runbook.spec["verification"], regions),
        "failback": substitute(runbook.spec["failback"], regions),
    }


def _where_runs(step: dict[str, Any], regions: dict[str, str]) -> str:
    side = {"source": "source", "deactivating": "source", "target": "target"}.get(
        step.get("run_in", ""), "target" if step.get("run_in") == "activating" else ""
    )
    return f" in {regions[side]}" if side else ""


def render_markdown(p: dict[str, Any]) -> str:
    lines = [
        f"# {p['title']} ({p['runbook']} v{p['version']})",
        "",
        f"Source {p['regions']['source']} -> target {p['regions']['target']}; "
        f"RTO budget {p['rto_budget_s']} s; critical path {p['critical_path_s']} s; "
        f"content sha256 {p['sha256'][:12]}",
        "",
    ]
    if p["in_region"]:
        lines[2] = (
            f"In Region {p['regions']['source']}; RTO budget {p['rto_budget_s']} s; "
            f"critical path {p['critical_path_s']} s; content sha256 {p['sha256'][:12]}"
        )
    if p.get("description"):
        lines += [p["description"], ""]
    if p["warnings"]:
        lines += ["## Warnings", *(f"- {w}" for w in p["warnings"]), ""]
    lines += _time_budget(p["recovery_time"])
    lines.append("## Prechecks")
    lines += [f"- [ ] {c['id']}: {c['description']}" for c in p["prechecks"]]
    lines += ["", "## Steps"]
    for group in p["groups"]:
        if group["parallel"]:
            lines.append("In parallel:")
        for step in group["steps"]:
            gate = f" (approval: {step['approval']})" if "approval" in step else ""
            indent = "  " if group["parallel"] else ""
            where = _where_runs(step, p["regions"])
            lines.append(
                f"{indent}{step['order']}. `{step['id']}` {step['title']} "
                f"[{step['type']}{where}]{gate}"
            )
            command = step.get("params", {}).get("command")
            if command:
                lines.append(f"{indent}   `{command}`")
            override = step_action(step["type"], step.get("params", {}))
            if override is not None:  # what an agentkit worker obeys (docs/ops.md)
                lines.append(f"{indent}   agentkit: `{override.command()}`")
    lines += ["", "## Verification"]
    lines += [f"- {_verification(v)}" for v in p["verification"]]
    if p["rollback_steps"]:
        lines += ["", "## Rollback steps"] + [
            f"- `{s['id']}` {s['title']}" + _ops_suffix(s) for s in p["rollback_steps"]
        ]
    lines += ["", "## Failback"]
    if p["failback"].get("runbook_ref"):
        lines.append(f"Runbook: {p['failback']['runbook_ref']}")
    if p["failback"].get("notes"):
        lines.append(p["failback"]["notes"])
    return "\n".join(lines) + "\n"


def _time_budget(rt: dict[str, Any]) -> list[str]:
    verdict = "over the RTO budget" if rt["over_budget"] else "within the RTO budget"
    lines = ["## Time to recover", "", "| part | seconds |", "|---|---|"]
    lines.append(f"| detection (slowest trigger: {rt['detected_by']}) | {rt['detection_s']} |")
    lines.append(f"| critical path ({' -> '.join(rt['critical_path'])}) | {rt['steps_s']} |")
    lines.append(f"| bake before failback | {rt['bake_s']} |")
    lines.append(f"| **total** ({verdict} of {rt['rto_budget_s']} s) | **{rt['total_s']}** |")
    lines += ["", "Triggers:"]
    for trigger in rt["triggers"]:
        lines.append(f"- {_describe_trigger(trigger)}")
    return [*lines, ""]


def _describe_trigger(t: dict[str, Any]) -> str:
    parts = []
    if t["request_interval_s"] is not None:
        parts.append(
            f"health check {t['request_interval_s']} s x {t['failure_threshold']} failures"
        )
    parts.append(f"alarm {t['period_s']} s x {t['evaluation_periods']} periods")
    text = f"{t['alarm']}: {' + '.join(parts)} = {t['seconds']} s"
    if t["defaults"]:
        text += f" (defaults: {', '.join(t['defaults'])})"
    return text


def _verification(v: dict[str, Any]) -> str:
    """``agentkit agentkit.answers {agentkit.outcome=ok} Sum over 300 s <= 0 after kill``, or
    ``alarm bedrock-estimated-tpm-80pct is OK after redistribute``."""
    if "alarm" in v:
        text = f"alarm {v['alarm']} is {v['state']}"
    else:
        dims = " ".join(f"{k}={val}" for k, val in v.get("dimensions", {}).items())
        text = v["metric"] + (f" {{{dims}}}" if dims else "")
        if "stat" in v:
            text += f" {v['stat']}"
        if "window_s" in v:
            text += f" over {v['window_s']} s"
        text += f" {v['op']} {v['threshold']}"
        if v.get("source") == "application":
            text += " (your application's metric)"
    return text + (f" after {v['after_step']}" if "after_step" in v else "")


def render_json(p: dict[str, Any]) -> str:
    return json.dumps(p, indent=2, sort_keys=True) + "\n"


def _ops_suffix(step: dict[str, Any]) -> str:
    """`` (agentkit: `agentkit ops ...`)`` for a step an operator override carries out."""
    override = step_action(step["type"], step.get("params", {}))
    return f" (agentkit: `{override.command()}`)" if override is not None else ""
