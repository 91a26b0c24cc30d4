"""One FMEA run: load, score, gate, and render every requested format before writing any."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.bedrock.types import ModelInterface
from agentkit.errors import InputError
from agentkit.fmea.engine import Row, diff, gate_failures, score, summary
from agentkit.fmea.model import DEFAULT_VERSION, load_architecture, load_catalog
from agentkit.fmea.render import BASELINE_SCHEMAS, EXTENSIONS, RENDERERS, REPORT_SCHEMA
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
    schema_: Literal["agentkit/fmea-report/v1", "agentkit/fmea-report/v2"] = Field(alias="schema")
    rows: list[_BaselineRow]


@dataclass(frozen=True)
class Outcome:
    report: dict[str, Any]
    files: dict[str, str]  # file name -> content
    failing: int


def analyse(
    architecture_path: Path | None = None,
    *,
    terraform_plan: Path | None = None,
    catalog_path: Path | None = None,
    catalog_version: int = DEFAULT_VERSION,
    fail_on: str = "H",
    baseline_path: Path | None = None,
    gate_on_proposed: bool = False,
    model: ModelInterface | None = None,
    formats: tuple[str, ...] = ("md", "json"),
) -> Outcome:
    """Score an architecture file, or one built from a Terraform plan (``terraform_plan``).

    ``model``: when given, it may propose extra failure modes (marked, scored by code)."""
    with _no_cyclic_gc():
        return _analyse(
            architecture_path,
            terraform_plan=terraform_plan,
            catalog_path=catalog_path,
            catalog_version=catalog_version,
            fail_on=fail_on,
            baseline_path=baseline_path,
            gate_on_proposed=gate_on_proposed,
            model=model,
            formats=formats,
        )


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a run builds hundreds of thousands of acyclic dicts
    and rows, which reference counting frees; the collector's passes over them cost a quarter of
    the time of 10,000 components. It is restored (if it was on) however the run ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyse(
    architecture_path: Path | None,
    *,
    terraform_plan: Path | None,
    catalog_path: Path | None,
    catalog_version: int,
    fail_on: str,
    baseline_path: Path | None,
    gate_on_proposed: bool,
    model: ModelInterface | None,
    formats: tuple[str, ...],
) -> Outcome:
    unknown = sorted(set(formats) - set(RENDERERS))
    if unknown:
        raise InputError(f"--format: unknown format {unknown[0]!r}; use {', '.join(RENDERERS)}")
    if (architecture_path is None) == (terraform_plan is None):
        raise InputError("give an architecture file or --from-terraform PLAN.json (one of them)")
    catalog = load_catalog(version=catalog_version)
    if catalog_path is not None:
        catalog = load_catalog(catalog_path, base=catalog)
    unknown_resources: list[dict[str, str]] | None = None
    if terraform_plan is not None:
        from agentkit.fmea.terraform import architecture_from_plan

        architecture, unknown_resources = architecture_from_plan(terraform_plan, catalog)
        source = terraform_plan
    else:
        assert architecture_path is not None
        architecture = load_architecture(architecture_path, catalog)
        source = architecture_path
    baseline = read_baseline(baseline_path) if baseline_path else None
    sheet = score(architecture, catalog)
    enrichment = "off"
    if model is not None:
        from agentkit.fmea.enrich import propose  # brings in langgraph: only with a model

        proposals, unavailable = propose(model, architecture, sheet.rows)
        enrichment = f"skipped: {unavailable}" if unavailable else f"{len(proposals)} proposal(s)"
        sheet = score(architecture, catalog, proposals)
    failing = gate_failures(sheet.rows, fail_on, baseline, gate_on_proposed)
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "gate": _gate(fail_on, baseline_path, gate_on_proposed, failing),
        "source": source.as_posix(),
        "catalog_version": catalog.version,
        "workload": architecture.workload,
        "summary": summary(sheet.rows, sheet.spofs),
        "diff": diff(sheet.rows, baseline) if baseline is not None else None,
        "ruled_out": [
            {"component": r.component, "mode_id": r.mode_id, "control": r.control}
            for r in sheet.ruled_out
        ],
        "model_enrichment": enrichment,
        "rows": [r.to_json() for r in sheet.rows],
    }
    if unknown_resources is not None:
        report["terraform"] = {"unknown_resources": unknown_resources}
    files = {EXTENSIONS[f]: RENDERERS[f](report) for f in formats}
    return Outcome(report, files, len(failing))


def _gate(
    fail_on: str, baseline: Path | None, gate_on_proposed: bool, failing: list[Row]
) -> dict[str, Any]:
    scope = "new or worse than the baseline " if baseline else ""
    if failing:
        reason = (
            f"{len(failing)} item(s) {scope}at or above {fail_on} after controls: "
            + ", ".join(f"{r.id} ({r.item}: {r.failure_mode})" for r in failing[:5])
            + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
        )
    else:
        reason = f"no item {scope}at or above {fail_on} after controls"
    return {
        "result": "failed" if failing else "passed",
        "reason": reason,
        "fail_on": fail_on,
        "baseline": baseline.as_posix() if baseline else None,
        "gate_on_proposed": gate_on_proposed,
        "failed": bool(failing),
        "failing": [r.id for r in failing],
    }


def read_baseline(path: Path) -> dict[str, Any]:
    """An earlier JSON report, checked for what the gate reads: one line naming the problem."""
    data = read_json(path, InputError, MAX_BASELINE_BYTES)
    if not isinstance(data, dict) or data.get("schema") not in BASELINE_SCHEMAS:
        raise InputError(f"{path}: not an agentkit FMEA JSON report ({REPORT_SCHEMA})")
    try:
        _Baseline.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{path}: {where}: {first['msg']}") from None
    return data
