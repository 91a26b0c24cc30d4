"""FMEA reports: Markdown, JSON, a single-file HTML with SVG charts, SARIF 2.1.0 and JUnit XML.

Every renderer is a pure function of the report, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

REPORT_SCHEMA = "agentkit/fmea-report/v1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_AP_COLOUR = {"H": "#c0392b", "M": "#e67e22", "L": "#27ae60"}
_LEVEL = {"H": "error", "M": "warning", "L": "note"}
# Characters XML 1.0 cannot carry at all (C0 controls but tab, CR, LF; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\|`*\[\]<>])")


def md(value: Any) -> str:
    """``value`` as Markdown text that stays inside its table cell or line, shown literally."""
    flat = _CONTROL.sub(" ", str(value).replace("\r\n", "\n").replace("\n", " "))
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(value: Any) -> str:
    """``value`` as a Markdown code span, fenced by more backticks than it contains."""
    flat = _CONTROL.sub(" ", str(value))
    longest = max((len(run) for run in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def xml_text(value: Any) -> str:
    """``value`` without the characters XML cannot carry (ElementTree escapes the rest)."""
    return _NOT_XML.sub("", str(value))


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    ap = s["action_priority"]
    lines = [
        f"# FMEA: {md(report['workload']['name'])}",
        "",
        f"Architecture {md_code(report['source'])}, catalog v{report['catalog_version']}. "
        f"{s['rows']} failure modes: **{ap['H']} H**, {ap['M']} M, {ap['L']} L; "
        f"highest RPN {s['max_rpn']}.",
        "",
    ]
    if s["single_points_of_failure"]:
        spofs = ", ".join(md(c) for c in s["single_points_of_failure"])
        lines += [f"Single points of failure: {spofs}.", ""]
    gate = report.get("gate")
    if gate:
        verdict = "FAILED" if gate["failed"] else "passed"
        lines += [
            f"Gate (fail on {gate['fail_on']}): **{verdict}**, {len(gate['failing'])} item(s).",
            "",
        ]
    lines += [
        "| AP | S | O | D | RPN | Component | Failure mode | Effect | Cause | Recommended actions | ID |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        mode = md(r["failure_mode"]) + (" *(proposed by model)*" if r["proposed_by_model"] else "")
        cells = [
            md(r["action_priority"]),
            md(r["severity"]),
            md(r["occurrence"]),
            md(r["detection"]),
            md(r["rpn"]),
            md(r["component"]),
            mode,
            md(r["effect"]),
            md(r["cause"]),
            md("; ".join(r["recommended_actions"])),
            md(r["id"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _heat_map(rows: list[dict[str, Any]]) -> str:
    cell = 34
    counts: dict[tuple[int, int], list[str]] = {}
    for r in rows:
        counts.setdefault((r["severity"], r["occurrence"]), []).append(r["action_priority"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cell * 11 + 40}" height="{cell * 11 + 40}" '
        'role="img" aria-label="Risk matrix: severity by occurrence">'
    ]
    for s in range(1, 11):
        for o in range(1, 11):
            x, y = 40 + (o - 1) * cell, (10 - s) * cell
            found = counts.get((s, o), [])
            worst = min(found, key="HML".index) if found else None
            fill = _AP_COLOUR[worst] if worst else "#f4f4f4"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>S {s}, O {o}: {len(found)} item(s)</title></rect>"
            )
            if found:
                parts.append(
                    f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="12" '
                    f'text-anchor="middle" fill="#fff">{len(found)}</text>'
                )
        parts.append(
            f'<text x="30" y="{(10 - s) * cell + cell / 2 + 4}" font-size="11" text-anchor="end">{s}</text>'
        )
    for o in range(1, 11):
        parts.append(
            f'<text x="{40 + (o - 1) * cell + cell / 2}" y="{cell * 10 + 14}" font-size="11" '
            f'text-anchor="middle">{o}</text>'
        )
    parts.append(
        f'<text x="{40 + cell * 5}" y="{cell * 10 + 32}" font-size="12" text-anchor="middle">'
        "occurrence</text>"
    )
    parts.append('<text x="10" y="12" font-size="12">severity</text></svg>')
    return "".join(parts)


def _pareto(rows: list[dict[str, Any]]) -> str:
    top = sorted(rows, key=lambda r: (-r["rpn"], r["id"]))[:15]
    if not top:
        return "<p>No failure modes.</p>"
    width, bar, height = 640, 30, 220
    total = sum(r["rpn"] for r in top)
    peak = top[0]["rpn"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 90}" role="img" '
        'aria-label="RPN Pareto chart">'
    ]
    cumulative, points = 0, []
    for i, r in enumerate(top):
        h = height * r["rpn"] / peak
        x = 40 + i * (bar + 8)
        parts.append(
            f'<rect x="{x}" y="{height - h}" width="{bar}" height="{h}" '
            f'fill="{_AP_COLOUR[r["action_priority"]]}"><title>{html.escape(r["component"])}: '
            f"{html.escape(r['failure_mode'])} (RPN {r['rpn']})</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{height + 14}" font-size="10" text-anchor="end" '
            f'transform="rotate(-45 {x + bar / 2} {height + 14})">{html.escape(r["component"])}</text>'
        )
        cumulative += r["rpn"]
        points.append(f"{x + bar / 2},{height - height * cumulative / total}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#2c3e50" stroke-width="2"/>'
    )
    parts.append(
        f'<text x="40" y="{height + 80}" font-size="12">RPN, highest first; line: cumulative share</text></svg>'
    )
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    rows = report["rows"]
    body_rows = "".join(
        f'<tr><td class="ap{r["action_priority"]}">{r["action_priority"]}</td><td>{r["severity"]}</td>'
        f"<td>{r['occurrence']}</td><td>{r['detection']}</td><td>{r['rpn']}</td>"
        f"<td>{html.escape(r['component'])}</td><td>{html.escape(r['failure_mode'])}</td>"
        f"<td>{html.escape(r['effect'])}</td><td>{html.escape('; '.join(r['recommended_actions']))}</td></tr>"
        for r in rows
    )
    summary = html.escape(_plain_summary(report))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>FMEA: {html.escape(report['workload']['name'])}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top}"
        "th{background:#f0f0f0}.apH{background:#c0392b;color:#fff}.apM{background:#e67e22;color:#fff}"
        ".apL{background:#27ae60;color:#fff}.charts{display:flex;gap:2rem;flex-wrap:wrap}"
        "</style></head><body>"
        f"<h1>FMEA: {html.escape(report['workload']['name'])}</h1><p>{summary}</p>"
        f'<div class="charts"><figure>{_heat_map(rows)}<figcaption>Risk matrix (worst action priority '
        f"per cell)</figcaption></figure><figure>{_pareto(rows)}<figcaption>RPN Pareto</figcaption>"
        "</figure></div><h2>Worksheet</h2><table><thead><tr><th>AP</th><th>S</th><th>O</th><th>D</th>"
        "<th>RPN</th><th>Component</th><th>Failure mode</th><th>Effect</th><th>Recommended actions</th>"
        f"</tr></thead><tbody>{body_rows}</tbody></table></body></html>\n"
    )


def _plain_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    ap = s["action_priority"]
    return (
        f"Architecture {report['source']}, catalog v{report['catalog_version']}. "
        f"{s['rows']} failure modes: {ap['H']} H, {ap['M']} M, {ap['L']} L; "
        f"highest RPN {s['max_rpn']}."
    )


def render_sarif(report: dict[str, Any]) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for r in report["rows"]:
        if r["action_priority"] not in ("H", "M"):
            continue
        rule_id = f"{r['kind']}/{r['mode_id']}"
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "name": r["mode_id"],
                "shortDescription": {"text": r["failure_mode"]},
                "fullDescription": {"text": f"{r['effect']}. Cause: {r['cause']}."},
                "help": {"text": "; ".join(r["recommended_actions"])},
                "properties": {
                    "seed_class": r["seed_class"],
                    "agent_dimension": r["agent_dimension"],
                },
            },
        )
        results.append(
            {
                "ruleId": rule_id,
                "level": _LEVEL[r["action_priority"]],
                "message": {
                    "text": f"{r['component']}: {r['failure_mode']} (AP {r['action_priority']}, "
                    f"RPN {r['rpn']}: S {r['severity']} x O {r['occurrence']} x D {r['detection']})"
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": report["source"]},
                            "region": {"startLine": r["line"]},
                        }
                    }
                ],
                "partialFingerprints": {"agentkitFmeaRow": r["id"]},
            }
        )
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "agentkit-fmea",
                        "informationUri": "https://github.com/agentkit",
                        "rules": [rules[k] for k in sorted(rules)],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_junit(report: dict[str, Any]) -> str:
    rows = report["rows"]
    high = [r for r in rows if r["action_priority"] == "H"]
    suite = ET.Element(
        "testsuite",
        name=xml_text(f"fmea.{report['workload']['name']}"),
        tests=str(len(rows)),
        failures=str(len(high)),
        errors="0",
        skipped="0",
    )
    for r in rows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(f"fmea.{r['component']}"),
            name=xml_text(f"{r['mode_id']} [{r['id']}]"),
        )
        if r["action_priority"] == "H":
            failure = ET.SubElement(
                case,
                "failure",
                message=xml_text(f"AP H, RPN {r['rpn']}: {r['failure_mode']}"),
                type="ActionPriorityHigh",
            )
            failure.text = xml_text("; ".join(r["recommended_actions"]))
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


RENDERERS = {
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
    "sarif": render_sarif,
    "junit": render_junit,
}
EXTENSIONS = {
    "md": "fmea.md",
    "json": "fmea.json",
    "html": "fmea.html",
    "sarif": "fmea.sarif",
    "junit": "fmea.junit.xml",
}
