"""The ``fmea_generate`` tool: an architecture in, the scored worksheet, the gate verdict and the
written reports out (the contract is ``tools/fmea_generate/v1``).

Deterministic (no model proposals) and ``idempotent``: the same request writes the same report
set, replacing the one ``out_dir`` held before.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agentkit.errors import UserError
from agentkit.fmea.render import EXTENSIONS
from agentkit.fmea.run import analyse
from agentkit.fsutil import replace_file_set

ROW_FIELDS = (
    "id",
    "component",
    "kind",
    "failure_mode",
    "effect",
    "cause",
    "severity",
    "occurrence",
    "detection",
    "rpn",
    "action_priority",
    "revised_rpn",
    "revised_action_priority",
    "recommended_actions",
)


def check_request(payload: dict[str, Any]) -> list[str]:
    """Exactly one architecture, and files that exist."""
    given = [k for k in ("architecture_path", "architecture") if k in payload]
    if len(given) != 1:
        return ["give architecture_path or architecture (exactly one of them)"]
    problems = []
    for key in ("architecture_path", "baseline_path"):
        if key in payload and not Path(payload[key]).is_file():
            problems.append(f"{key}: no such file: {payload[key]}")
    return problems


def generate(payload: dict[str, Any]) -> dict[str, Any]:
    formats = tuple(payload.get("formats") or ("md", "json"))
    baseline = Path(payload["baseline_path"]) if "baseline_path" in payload else None
    options: dict[str, Any] = {
        "catalog_version": payload.get("catalog_version", 2),
        "fail_on": payload.get("fail_on", "H"),
        "baseline_path": baseline,
        "formats": formats,
    }
    if "architecture_path" in payload:
        outcome = analyse(Path(payload["architecture_path"]), **options)
    else:  # YAML is a superset of JSON: the loader reads it as it would the file
        with tempfile.TemporaryDirectory(prefix="agentkit-fmea-") as folder:
            source = Path(folder) / "architecture.json"
            source.write_text(json.dumps(payload["architecture"]), encoding="utf-8")
            try:
                outcome = analyse(source, **options)
            except UserError as error:  # name the request's field, not the scratch file
                raise type(error)(str(error).replace(str(source), "architecture")) from None
    out = Path(os.path.abspath(payload["out_dir"]))
    replace_file_set(out, outcome.files, replaces=EXTENSIONS.values())
    report = outcome.report
    gate = report["gate"]
    return {
        "workload": report["workload"],
        "gate": {k: gate[k] for k in ("result", "reason", "fail_on", "failing")},
        "summary": {
            k: report["summary"][k]
            for k in ("rows", "action_priority", "max_rpn", "single_points_of_failure")
        },
        "rows": [{k: row[k] for k in ROW_FIELDS} for row in report["rows"]],
        "reports": [(out / name).as_posix() for name in sorted(outcome.files)],
    }
