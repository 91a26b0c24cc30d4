"""The DR advisor's template answers: every sentence rendered from tool results, nothing else.

Used when the model tier is unavailable, when the model's answer fails the grounding check, and
to ask for missing targets. Deterministic: the same tool results give the same text.
"""

from __future__ import annotations

from typing import Any

from agentkit.agents.dr.advisor import minutes_text

STRATEGY_NAMES = {
    "backup_restore": "Backup & restore",
    "pilot_light": "Pilot light",
    "warm_standby": "Warm standby",
    "multi_site_active_active": "Multi-site active/active",
}
FIELD_NAMES = {
    "rto_minutes": "RTO",
    "rpo_minutes": "RPO",
    "tier": "tier",
    "budget_sensitivity": "budget sensitivity",
    "primary_region": "primary Region",
    "candidate_regions": "candidate Regions",
    "residency": "residency",
    "data_stores": "data stores",
    "compute": "compute",
    "uses_bedrock": "uses Bedrock",
    "allow_global_cris": "global inference profiles allowed",
    "unplanned_failover_in_scope": "unplanned failover in scope",
}


def render_question_for_targets(requirements: dict[str, Any]) -> str:
    missing = [
        label
        for key, label in (
            ("rto_minutes", "RTO (how long the workload may be down)"),
            ("rpo_minutes", "RPO (how much data you can afford to lose)"),
        )
        if key not in requirements
    ]
    known = ", ".join(
        f"{k}={v}" for k, v in sorted(requirements.items()) if not isinstance(v, list)
    )
    lines = [
        "To recommend a DR strategy I need your recovery targets; I will not guess them.",
        "Please tell me your " + " and ".join(missing) + ', e.g. "RTO 15 minutes, RPO 1 minute".',
    ]
    if known:
        lines.append(f"So far I have: {known}.")
    return "\n".join(lines)


def render_answer(
    advice: dict[str, Any],
    runbooks: dict[str, Any],
    requirements: dict[str, Any],
    turn: dict[str, Any] | None = None,
) -> str:
    strategy = STRATEGY_NAMES.get(advice.get("strategy", ""), str(advice.get("strategy")))
    lines = _changes(advice, turn or {})
    lines += [f"**Recommended strategy: {strategy}** ({_cost_tier(advice)})."]
    if advice.get("rationale"):
        lines += ["", f"Why: {advice['rationale']}."]
    targets = advice.get("target_regions") or []
    if targets:
        lines += ["", f"Recovery Region(s): {', '.join(targets)}."]
        if advice.get("recovery_region_reason"):
            lines.append(f"Chosen because: {advice['recovery_region_reason']}.")
    lines += _section("Notes", advice.get("notes"))
    refused = [*advice.get("excluded_regions", []), *advice.get("out_of_band_regions", [])]
    lines += _section("Regions not used", [f"{r['region']}: {r['reason']}" for r in refused])
    lines += _stores(advice) + _section("Traffic", advice.get("traffic"))
    lines += _section("Compute", advice.get("compute"))
    lines += _section("Bedrock", advice.get("bedrock"))
    flags = advice.get("flags") or []
    if flags:
        lines.append("")
        lines.append("Caveats:")
        lines += [f"- {_flag(flag)}" for flag in flags]
    lines += _cost(advice.get("estimated_monthly_cost"))
    lines += _section("Also", advice.get("advice"))
    unknown = requirements.get("unknown_stores") or []
    if unknown:
        lines += [
            "",
            f"Question: how is {', '.join(unknown)} deployed (self-managed on EC2, or a managed "
            "service)? I have left it out of this plan until you say.",
        ]
    lines += _runbooks(runbooks)
    return "\n".join(lines).strip()


def _changes(advice: dict[str, Any], turn: dict[str, Any]) -> list[str]:
    changes = turn.get("changes") or []
    if not changes:
        return []
    said = [
        f"{FIELD_NAMES.get(c['field'], c['field'])} {_value(c['field'], c['before'])} -> "
        f"{_value(c['field'], c['after'])}"
        for c in changes
    ]
    before, after = turn.get("previous_strategy"), advice.get("strategy")
    name = STRATEGY_NAMES.get(str(after), str(after))
    if before and before != after:
        moved = (
            f"The strategy moves from {STRATEGY_NAMES.get(before, before)} to {name}: "
            f"{advice.get('rationale', '')}."
        )
    else:
        moved = f"The strategy stays {name}: {advice.get('rationale', '')}."
    return [f"Updated: {'; '.join(said)}.", moved, ""]


def _value(field: str, value: Any) -> str:
    if value is None or value == []:
        return "(not set)"
    if field in ("rto_minutes", "rpo_minutes") and isinstance(value, int | float):
        return minutes_text(float(value))
    if isinstance(value, list):
        return ", ".join(v.get("type", str(v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def _cost_tier(advice: dict[str, Any]) -> str:
    tier = f"cost tier {advice.get('cost_tier', '?')}"
    cost = advice.get("estimated_monthly_cost")
    if not isinstance(cost, dict):
        return tier
    return f"{tier}; estimated ${cost['usd']:,.2f} a month for the priced building blocks"


def _cost(cost: Any) -> list[str]:
    if not isinstance(cost, dict):
        return []
    lines = [
        "",
        f"Estimated monthly cost ({cost['prices']}): ${cost['usd']:,.2f}, {cost['covers']}.",
    ]
    lines += [
        f"- {i['item']}: {i['quantity']} x ${i['unit_usd']:,.2f} = ${i['usd']:,.2f}"
        for i in cost["items"]
    ]
    lines += [f"- not priced: {what}" for what in cost["not_priced"]]
    lines += [f"- assumption: {what}" for what in cost["assumptions"]]
    return lines


def _flag(flag: Any) -> str:
    if isinstance(flag, dict):
        return f"{flag.get('code')}: {flag.get('message', '')}".rstrip(": ")
    return str(flag)


def _stores(advice: dict[str, Any]) -> list[str]:
    stores = advice.get("data_stores") or []
    if not stores:
        return []
    lines = ["", "Data stores:"]
    for store in stores:
        rpo = store.get("expected_rpo_seconds")
        achieved = f", expected RPO {rpo:g} s" if isinstance(rpo, int | float) else ""
        floor = store.get("rpo_floor_seconds")
        if not achieved and isinstance(floor, int | float):
            achieved = f", expected RPO no better than {floor:g} s"
        if store.get("meets_rpo") is False:
            achieved += " (does not meet the RPO target)"
        note = f"; {store['note']}" if store.get("note") else ""
        if store.get("sources"):
            note += f" (sources: {', '.join(store['sources'])})"
        lines.append(
            f"- {store.get('name')} ({store.get('type')}): {store.get('service')}{achieved}{note}"
        )
    return lines


def _section(title: str, value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, dict):
        body = [f"- {k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items()]
    elif isinstance(value, list):
        body = [f"- {_plain(v)}" for v in value]
    else:
        body = [f"- {value}"]
    return ["", f"{title}:", *body]


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _runbooks(runbooks: dict[str, Any]) -> list[str]:
    found = runbooks.get("runbooks") or []
    if not found:
        return []
    lines = ["", "Runbooks:"]
    for book in found:
        lines.append(
            f"- {book.get('id')} v{book.get('version', '?')}: "
            f"{book.get('title') or book.get('scenario', '')}"
        )
        for step in (book.get("steps") or [])[:5]:
            lines.append(
                f"  {step.get('order', '-')}. {step.get('id')}: "
                f"{step.get('title') or step.get('type')}"
            )
    return lines
