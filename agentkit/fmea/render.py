"""FMEA reports: Markdown, JSON, a single-file HTML with SVG charts, SARIF 2.1.0 and JUnit XML.

Every renderer is a pure function of the report, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

REPORT_SCHEMA = "agentkit/fmea-report/v2"
BASELINE_SCHEMAS = ("agentkit/fmea-report/v1", REPORT_SCHEMA)  # v1 reports still gate
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_AP_COLOUR = {"H": "#c0392b", "M": "#e67e22", "L": "#27ae60"}
_LEVEL = {"H": "error", "M": "warning", "L": "note"}
# Characters XML 1.0 cannot carry at all (C0 controls but tab, CR, LF; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\|`*\[\]<>])")


_PLAIN = re.compile(r"[^\\|`*\[\]<>\x00-\x1f\x7f-\x9f]*")


def md(value: Any) -> str:
    """``value`` as Markdown text that stays inside its table cell or line, shown literally."""
    if type(value) is int:
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text  # nothing to escape: the common case, and the fast one
    flat = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\n", " "))
    return _MD_SPECIAL.sub(r"\\\1", flat)


class _EscapedText(dict[str, str]):
    """``md`` of each text, remembered: ``text[value]``."""

    def __missing__(self, value: str) -> str:
        escaped = self[value] = md(value)
        return escaped


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
    """Keys in report order (schema, then the gate), so the gate is at the top of the file;
    one row a line (the C encoder: 25,000 rows in well under a second, and a readable diff)."""
    head = {k: v for k, v in report.items() if k != "rows"}
    text = json.dumps(head, indent=2, allow_nan=False)
    encode = json.JSONEncoder(allow_nan=False).encode  # one encoder for every row
    rows = ",\n".join("    " + encode(r) for r in report.get("rows", []))
    body = f'"rows": [\n{rows}\n  ]' if rows else '"rows": []'
    prefix = text[:-2] + ",\n  " if head else "{\n  "  # text ends "\n}"
    return prefix + body + "\n}\n"


def _revised(r: dict[str, Any], key: str) -> Any:
    """A revised column, or the initial one for a report without revised columns (v1)."""
    value = r.get(f"revised_{key}")
    return value if value not in (None, "", 0) else r[key]


def _gate_line(report: dict[str, Any]) -> str:
    gate = report.get("gate") or {}
    result = str(gate.get("result") or ("failed" if gate.get("failed") else "passed"))
    return f"Gate {result.upper()} (fail on {gate.get('fail_on', 'H')}): {gate.get('reason', '')}"


def _controls_text(r: dict[str, Any]) -> str:
    text = f"Prevention: {r['prevention_control']}. Detection: {r['detection_control']}."
    if r.get("controls"):
        text += f" Listed: {', '.join(r['controls'])}."
    return text


def _owner_text(r: dict[str, Any]) -> str:
    owner = r.get("owner") or "unassigned"
    return f"{owner}: {'; '.join(r['recommended_actions'])}"


def _diff_lines(report: dict[str, Any]) -> list[str]:
    changes = report.get("diff")
    if not changes:
        return []
    parts = [f"{name} {len(ids)}" for name, ids in changes.items()]
    lines = [f"Against the baseline: {', '.join(parts)}.", ""]
    for name in ("new", "worsened", "improved", "resolved"):
        if changes.get(name):
            lines += [f"- {name}: {', '.join(md(i) for i in changes[name])}"]
    return [*lines, ""] if len(lines) > 2 else lines


def _matrix_counts(rows: list[dict[str, Any]]) -> dict[tuple[int, int], list[str]]:
    counts: dict[tuple[int, int], list[str]] = {}
    for r in rows:
        key = (_revised(r, "severity"), _revised(r, "occurrence"))
        counts.setdefault(key, []).append(_revised(r, "action_priority"))
    return counts


def render_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    ap = s["action_priority"]
    lines = [
        f"# FMEA: {md(report['workload']['name'])}",
        "",
        f"**{md(_gate_line(report))}**",
        "",
        f"Architecture {md_code(report['source'])}, catalog v{report['catalog_version']}. "
        f"{s['rows']} failure modes after controls: **{ap['H']} H**, {ap['M']} M, {ap['L']} L; "
        f"highest revised RPN {s['max_rpn']}.",
        "",
    ]
    if s["single_points_of_failure"]:
        spofs = ", ".join(md(c) for c in s["single_points_of_failure"])
        lines += [f"Single points of failure: {spofs}.", ""]
    lines += _diff_lines(report)
    if report.get("ruled_out"):
        gone = ", ".join(
            md(f"{x['component']}/{x['mode_id']} ({x['control']})") for x in report["ruled_out"]
        )
        lines += [f"Ruled out by listed controls: {gone}.", ""]
    unknown = (report.get("terraform") or {}).get("unknown_resources")
    if unknown:
        listed = ", ".join(md(f"{u['address']} ({u['type']})") for u in unknown)
        lines += [f"Terraform resources not modelled: {listed}.", ""]
    lines += [
        "| ID | Item | Function | Failure mode | Cause | Effect | Controls | S | O | D | RPN | AP "
        "| S' | O' | D' | RPN' | AP' | Owner: action |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    text = _EscapedText()  # rows of one mode share their texts: each is escaped once
    for r in report["rows"]:
        mode = text[r["failure_mode"]] + (
            " *(proposed by model)*" if r["proposed_by_model"] else ""
        )
        cells = [
            md(r["id"]),
            md(r.get("item") or r["component"]),
            text[r.get("function", "")],
            mode,
            text[r["cause"]],
            text[r["effect"]],
            text[_controls_text(r)],
            md(r["severity"]),
            md(r["occurrence"]),
            md(r["detection"]),
            md(r["rpn"]),
            md(r["action_priority"]),
            md(_revised(r, "severity")),
            md(_revised(r, "occurrence")),
            md(_revised(r, "detection")),
            md(_revised(r, "rpn")),
            md(_revised(r, "action_priority")),
            text[_owner_text(r)],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _heat_map(rows: list[dict[str, Any]]) -> str:
    cell = 30
    size = cell * 10 + 50
    counts = _matrix_counts(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="chart" '
        'role="img" aria-label="Risk matrix: severity by occurrence, after controls">'
    ]
    for s in range(1, 11):
        for o in range(1, 11):
            x, y = 40 + (o - 1) * cell, 10 + (10 - s) * cell
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
            f'<text x="32" y="{10 + (10 - s) * cell + cell / 2 + 4}" font-size="11" text-anchor="end">{s}</text>'
        )
    for o in range(1, 11):
        parts.append(
            f'<text x="{40 + (o - 1) * cell + cell / 2}" y="{10 + cell * 10 + 14}" font-size="11" '
            f'text-anchor="middle">{o}</text>'
        )
    parts.append(
        f'<text x="{40 + cell * 5}" y="{10 + cell * 10 + 32}" font-size="12" text-anchor="middle">'
        "occurrence</text>"
    )
    parts.append(
        f'<text x="12" y="{10 + cell * 5}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {10 + cell * 5})">severity</text></svg>'
    )
    return "".join(parts)


def _label(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _pareto(rows: list[dict[str, Any]]) -> str:
    top = sorted(rows, key=lambda r: (-_revised(r, "rpn"), r["id"]))[:15]
    if not top:
        return "<p>No failure modes.</p>"
    bar, gap, height, left, bottom = 26, 8, 200, 44, 110
    width = left + len(top) * (bar + gap) + 20
    total = sum(_revised(r, "rpn") for r in top)
    peak = max(_revised(top[0], "rpn"), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + bottom}" '
        'class="chart" role="img" aria-label="Pareto chart of revised RPN">'
    ]
    cumulative, points = 0, []
    for i, r in enumerate(top):
        rpn = _revised(r, "rpn")
        h = height * rpn / peak
        x = left + i * (bar + gap)
        label = html.escape(_label(str(r.get("item") or r["component"])))
        parts.append(
            f'<rect x="{x}" y="{10 + height - h}" width="{bar}" height="{h}" '
            f'fill="{_AP_COLOUR[_revised(r, "action_priority")]}"><title>{html.escape(r["id"])} '
            f"{html.escape(r.get('item') or r['component'])}: {html.escape(r['failure_mode'])} "
            f"(RPN {rpn})</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{height + 24}" font-size="10" text-anchor="end" '
            f'transform="rotate(-50 {x + bar / 2} {height + 24})">{label}</text>'
        )
        cumulative += rpn
        points.append(f"{x + bar / 2},{10 + height - height * cumulative / total}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#2c3e50" stroke-width="2"/>'
    )
    parts.append(
        f'<text x="{left}" y="{height + bottom - 4}" font-size="11">Revised RPN, highest first; line: cumulative share</text></svg>'
    )
    return "".join(parts)


_HEAD = (
    "<th>ID</th><th>Item</th><th>Function</th><th>Failure mode</th><th>Cause</th><th>Effect</th>"
    "<th>Controls</th><th>S</th><th>O</th><th>D</th><th>RPN</th><th>AP</th><th>S'</th><th>O'</th>"
    "<th>D'</th><th>RPN'</th><th>AP'</th><th>Owner: action</th>"
)


def _html_row(r: dict[str, Any]) -> str:
    e = html.escape
    cells = [
        e(r["id"]),
        e(r.get("item") or r["component"]),
        e(r.get("function", "")),
        e(r["failure_mode"]) + (" <em>(proposed by model)</em>" if r["proposed_by_model"] else ""),
        e(r["cause"]),
        e(r["effect"]),
        e(_controls_text(r)),
    ]
    numbers = [r["severity"], r["occurrence"], r["detection"], r["rpn"]]
    revised = [_revised(r, k) for k in ("severity", "occurrence", "detection", "rpn")]
    ap, rap = r["action_priority"], _revised(r, "action_priority")
    return (
        "<tr>"
        + "".join(f"<td>{c}</td>" for c in cells)
        + "".join(f"<td>{n}</td>" for n in numbers)
        + f'<td class="ap{e(ap)}">{e(ap)}</td>'
        + "".join(f"<td>{n}</td>" for n in revised)
        + f'<td class="ap{e(rap)}">{e(rap)}</td><td>{e(_owner_text(r))}</td></tr>'
    )


def render_html(report: dict[str, Any]) -> str:
    rows = report["rows"]
    gate = report.get("gate") or {}
    verdict = "fail" if gate.get("failed") else "pass"
    diff = "".join(
        f"<li>{html.escape(line[2:])}</li>" for line in _diff_lines(report) if line.startswith("- ")
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>FMEA: {html.escape(report['workload']['name'])}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:100%}"
        ".sheet{overflow-x:auto;max-width:100%}"
        "table{border-collapse:collapse;font-size:12px;width:100%;min-width:1100px}"
        "td,th{border:1px solid #ddd;padding:3px 5px;vertical-align:top}"
        "th{background:#f0f0f0;position:sticky;top:0}.apH{background:#c0392b;color:#fff}"
        ".apM{background:#e67e22;color:#fff}.apL{background:#27ae60;color:#fff}"
        ".gate{padding:.6rem 1rem;border-radius:4px;font-weight:600;color:#fff}"
        ".pass{background:#27ae60}.fail{background:#c0392b}"
        ".charts{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}"
        ".charts figure{margin:0;flex:1 1 320px;max-width:560px}.chart{width:100%;height:auto}"
        "@media print{.charts figure{max-width:48%}th{position:static}.sheet{overflow:visible}"
        "table{min-width:0;font-size:9px}}"
        "</style></head><body>"
        f'<p class="gate {verdict}">{html.escape(_gate_line(report))}</p>'
        f"<h1>FMEA: {html.escape(report['workload']['name'])}</h1>"
        f"<p>{html.escape(_plain_summary(report))}</p>"
        + (f"<ul>{diff}</ul>" if diff else "")
        + f'<div class="charts"><figure>{_heat_map(rows)}<figcaption>Risk matrix after controls '
        f"(worst action priority per cell)</figcaption></figure><figure>{_pareto(rows)}"
        "<figcaption>RPN Pareto (revised, top 15)</figcaption></figure></div>"
        f'<h2>Worksheet</h2><div class="sheet"><table><thead><tr>{_HEAD}</tr></thead><tbody>'
        + "".join(_html_row(r) for r in rows)
        + "</tbody></table></div></body></html>\n"
    )


def _plain_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    ap = s["action_priority"]
    return (
        f"Architecture {report['source']}, catalog v{report['catalog_version']}. "
        f"{s['rows']} failure modes after controls: {ap['H']} H, {ap['M']} M, {ap['L']} L; "
        f"highest revised RPN {s['max_rpn']}."
    )


def render_sarif(report: dict[str, Any]) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    result_ids: list[str] = []
    for r in report["rows"]:
        ap = _revised(r, "action_priority")
        if ap not in ("H", "M"):
            continue
        result_ids.append(r["id"])
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
                "level": _LEVEL[ap],
                "message": {
                    "text": f"{r.get('item') or r['component']}: {r['failure_mode']} (AP {ap}, "
                    f"RPN {_revised(r, 'rpn')}: S {_revised(r, 'severity')} x "
                    f"O {_revised(r, 'occurrence')} x D {_revised(r, 'detection')} after controls; "
                    f"before: AP {r['action_priority']}, RPN {r['rpn']})"
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
    gate = report.get("gate") or {}
    changes = report.get("diff")
    if changes:  # SARIF's own words for a comparison with a baseline run
        state = dict.fromkeys(changes.get("new", []), "new")
        state.update(dict.fromkeys(changes.get("worsened", []), "updated"))
        state.update(dict.fromkeys(changes.get("improved", []), "updated"))
        for result, row_id in zip(results, result_ids, strict=True):
            result["baselineState"] = state.get(row_id, "unchanged")
    sarif = {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [
            {
                "invocations": [
                    {
                        "executionSuccessful": not gate.get("failed", False),
                        "toolExecutionNotifications": [
                            {
                                "level": "error" if gate.get("failed") else "note",
                                "message": {"text": _gate_line(report)},
                            }
                        ],
                    }
                ],
                "properties": {"gate": gate},
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
    return json.dumps(sarif, indent=2, allow_nan=False) + "\n"


def render_junit(report: dict[str, Any]) -> str:
    rows = report["rows"]
    high = [r for r in rows if _revised(r, "action_priority") == "H"]
    gate = report.get("gate") or {}
    suite = ET.Element(
        "testsuite",
        name=xml_text(f"fmea.{report['workload']['name']}"),
        tests=str(len(rows) + 1),
        failures=str(len(high) + (1 if gate.get("failed") else 0)),
        errors="0",
        skipped="0",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="gate", value=xml_text(_gate_line(report)))
    for name, ids in (report.get("diff") or {}).items():
        ET.SubElement(properties, "property", name=f"baseline.{name}", value=str(len(ids)))
    gate_case = ET.SubElement(suite, "testcase", classname="fmea", name="gate")
    if gate.get("failed"):
        failure = ET.SubElement(
            gate_case, "failure", message=xml_text(_gate_line(report)), type="GateFailed"
        )
        failure.text = xml_text(", ".join(gate.get("failing", [])))
    for r in rows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(f"fmea.{r['component']}"),
            name=xml_text(f"{r['mode_id']} [{r['id']}]"),
        )
        if _revised(r, "action_priority") == "H":
            failure = ET.SubElement(
                case,
                "failure",
                message=xml_text(f"AP H, RPN {_revised(r, 'rpn')}: {r['failure_mode']}"),
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
