"""The DR advisor's template answers: every sentence rendered from tool results, nothing else.

Used when the model tier is unavailable, when the model's answer fails the grounding check, and
to ask for missing targets. Deterministic: the same tool results give the same text.
"""

from __future__ import annotations

from typing import Any

STRATEGY_NAMES = {
    "backup_restore": "Backup & restore",
    "pilot_light": "Pilot light",
    "warm_standby": "Warm standby",
    "multi_site_active_active": "Multi-site active/active",
}
FLAG_TEXT = {
    "REGIONAL_DR_NOT_NATIVE": "No allowed recovery Region in the same partition: use Multi-AZ and "
    "in-Region backups; cross-partition recovery is out-of-band backup & restore with approval.",
    "RPO0_UNACHIEVABLE": "RPO 0 is not achievable with an unplanned Aurora Global Database "
    "failover "
    "(typically seconds of loss); only a planned switchover is RPO 0.",
    "S3_RPO_BELOW_RTC": "S3 Replication Time Control replicates 99.99% of objects within "
    "15 minutes; "
    "an RPO below 15 minutes is not guaranteed for S3.",
}


def _duration(minutes: float) -> str:
    if minutes == 0:
        return "0"
    if minutes < 1:
        return f"{minutes * 60:g} s"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g} h"
    return f"{minutes:g} min"


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
    advice: dict[str, Any], runbooks: dict[str, Any], requirements: dict[str, Any]
) -> str:
    strategy = STRATEGY_NAMES.get(advice.get("strategy", ""), str(advice.get("strategy")))
    lines = [f"**Recommended strategy: {strategy}** (cost tier {advice.get('cost_tier', '?')})."]
    if advice.get("rationale"):
        lines += ["", f"Why: {advice['rationale']}."]
    targets = advice.get("target_regions") or []
    if targets:
        lines += ["", f"Recovery Region(s): {', '.join(targets)}."]
    lines += _stores(advice) + _section("Traffic", advice.get("traffic"))
    lines += _section("Bedrock", advice.get("bedrock"))
    flags = advice.get("flags") or []
    if flags:
        lines.append("")
        lines.append("Caveats:")
        lines += [f"- {_flag(flag)}" for flag in flags]
    lines += _runbooks(runbooks)
    return "\n".join(lines).strip()


def _flag(flag: Any) -> str:
    code = flag.get("code") if isinstance(flag, dict) else str(flag)
    detail = flag.get("message") if isinstance(flag, dict) else None
    return f"{code}: {detail or FLAG_TEXT.get(str(code), '')}".rstrip(": ")


def _stores(advice: dict[str, Any]) -> list[str]:
    stores = advice.get("data_stores") or []
    if not stores:
        return []
    lines = ["", "Data stores:"]
    for store in stores:
        rpo = store.get("expected_rpo_seconds")
        achieved = f", expected RPO {rpo:g} s" if isinstance(rpo, int | float) else ""
        lines.append(
            f"- {store.get('name')} ({store.get('type')}): {store.get('service')}{achieved}"
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
