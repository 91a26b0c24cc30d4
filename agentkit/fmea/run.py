"""One FMEA run: load, score, gate, and render every requested format before writing any."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.bedrock.types import ModelInterface
from agentkit.errors import InputError
from agentkit.fmea.engine import (
    dependents,
    gate_failures,
    single_points_of_failure,
    summary,
    worksheet,
)
from agentkit.fmea.model import load_architecture, load_catalog
from agentkit.fmea.render import EXTENSIONS, RENDERERS, REPORT_SCHEMA
from agentkit.yamlsource import read_json

MAX_BASELINE_BYTES = 64 * 1024 * 1024  # the JSON report of MAX_COMPONENTS components fits


class _BaselineRow(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    id: str
    action_priority: Literal["H", "M", "L"]
    rpn: int = Field(ge=0)


class _Baseline(BaseModel):
    """The part of an earlier JSON report the gate reads; the rest is not checked."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    schema_: Literal["agentkit/fmea-report/v1"] = Field(alias="schema")
    rows: list[_BaselineRow]


@dataclass(frozen=True)
class Outcome:
    report: dict[str, Any]
    files: dict[str, str]  # file name -> content
    failing: int


def analyse(
    architecture_path: Path,
    *,
    catalog_path: Path | None = None,
    fail_on: str = "H",
    baseline_path: Path | None = None,
    gate_on_proposed: bool = False,
    model: ModelInterface | None = None,
    formats: tuple[str, ...] = ("md", "json"),
) -> Outcome:
    """``model``: when given, it may propose extra failure modes (marked, scored by code)."""
    unknown = sorted(set(formats) - set(RENDERERS))
    if unknown:
        raise InputError(f"--format: unknown format {unknown[0]!r}; use {', '.join(RENDERERS)}")
    catalog = load_catalog()
    if catalog_path is not None:
        catalog = load_catalog(catalog_path, base=catalog)
    architecture = load_architecture(architecture_path, catalog)
    baseline = read_baseline(baseline_path) if baseline_path else None
    rows = worksheet(architecture, catalog)
    enrichment = "off"
    if model is not None:
        from agentkit.fmea.enrich import propose  # brings in langgraph: only with a model

        proposals, unavailable = propose(model, architecture, rows)
        enrichment = f"skipped: {unavailable}" if unavailable else f"{len(proposals)} proposal(s)"
        rows = worksheet(architecture, catalog, proposals)
    failing = gate_failures(rows, fail_on, baseline, gate_on_proposed)
    spofs = single_points_of_failure(architecture, catalog, dependents(architecture))
    report = {
        "schema": REPORT_SCHEMA,
        "source": architecture_path.as_posix(),
        "catalog_version": catalog.version,
        "model_enrichment": enrichment,
        "workload": architecture.workload,
        "summary": summary(rows, spofs),
        "gate": {
            "fail_on": fail_on,
            "baseline": baseline_path.as_posix() if baseline_path else None,
            "gate_on_proposed": gate_on_proposed,
            "failed": bool(failing),
            "failing": [r.id for r in failing],
        },
        "rows": [r.to_json() for r in rows],
    }
    files = {EXTENSIONS[f]: RENDERERS[f](report) for f in formats}
    return Outcome(report, files, len(failing))


def read_baseline(path: Path) -> dict[str, Any]:
    """An earlier JSON report, checked for what the gate reads: one line naming the problem."""
    data = read_json(path, InputError, MAX_BASELINE_BYTES)
    if not isinstance(data, dict) or data.get("schema") != REPORT_SCHEMA:
        raise InputError(f"{path}: not an agentkit FMEA JSON report ({REPORT_SCHEMA})")
    try:
        _Baseline.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{path}: {where}: {first['msg']}") from None
    return data
