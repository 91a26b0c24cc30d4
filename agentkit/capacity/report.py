"""The two views of one :class:`CapacityReport`: JSON (``--json``) and a rich table."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from agentkit.capacity.model import CapacityReport, RegionFigures

if TYPE_CHECKING:
    from rich.console import Console

DECIMALS = 6  # enough for any token count; hides float noise (199.99999999999997 -> 200)


def to_json(report: CapacityReport) -> dict[str, Any]:
    """Plain JSON data; the keys are the names used in the docs (``model.tpm_settled``, ...)."""
    n1 = report.n_plus_one
    data: dict[str, Any] = {
        "seed": dataclasses.asdict(report.seed),
        "model": dataclasses.asdict(report.model),
        "regions": {r.region: _region_json(r) for r in report.regions},
        "tpd_ok": report.tpd_ok,
        "n_plus_one": {
            **dataclasses.asdict(n1),
            "ok_settled": n1.ok_settled,
            "ok_admission": n1.ok_admission,
            "ok": n1.ok,
        },
        "endpoint": report.endpoint,
        "quota_regions": _region_set(report.quota_regions),
        "routing_regions": _region_set(report.routing_regions),
        "peak_factor": report.peak_factor,
        "safety_margin": report.safety_margin,
        "ok": report.ok,
        "warnings": list(report.warnings),
    }
    return _clean(data)  # type: ignore[no-any-return]


def _region_json(region: RegionFigures) -> dict[str, Any]:
    fields = dataclasses.asdict(region)
    del fields["region"]
    return fields


def _region_set(regions: tuple[str, ...]) -> dict[str, Any]:
    return {"count": len(regions), "regions": list(regions)}


def _clean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        rounded = round(value, DECIMALS)
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def render(report: CapacityReport, console: Console) -> None:
    """Print the report as tables: seed vs model, then the Regions, then the verdicts."""
    console.print(_figures_table(report))
    console.print(_regions_table(report))
    console.print("headroom = 1 - peak x share x TPM / quota; * default TPD = TPM quota x 1440")
    for line in _verdicts(report):
        console.print(line)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def _figures_table(report: CapacityReport) -> Any:
    from rich.table import Table

    seed, model = report.seed, report.model
    table = Table("figure", "seed (3.1, verbatim)", "model (3.4)", title="Capacity")
    table.add_row("call duration d (s)", _n(seed.call_duration_s), _n(model.call_duration_s))
    table.add_row("RPM", _n(seed.rpm), _n(model.rpm))
    table.add_row(
        "input tokens per call", _n(seed.input_tokens_per_call), _n(model.input_tokens_per_call)
    )
    table.add_row("TPM (input only)", _n(seed.tpm), "")
    table.add_row("TPM, full history", _n(seed.tpm_full_history), "")
    table.add_row("TPM raw (input + output)", "", _n(model.tpm_raw))
    table.add_row("TPM settled (quota use)", _n(seed.tpm_settled), _n(model.tpm_settled))
    table.add_row("TPM admission (reserved)", "", _n(model.tpm_admission))
    table.add_row("burndown", "", f"{model.burndown:g}x ({model.burndown_source})")
    return table


def _regions_table(report: CapacityReport) -> Any:
    from rich.table import Table

    title = f"Regions (peak x{report.peak_factor:g}, safety margin {report.safety_margin:.0%})"
    table = Table(
        "Region", "share", "quota TPM", "settled", "admission", "TPD need/quota", "verdict",
        title=title,
    )  # fmt: skip
    for r in report.regions:
        default = "*" if r.tpd_quota_is_default else ""
        tpd = f"{_compact(r.tpd_needed)}/{_compact(r.tpd_quota)}{default}"
        table.add_row(
            r.region,
            f"{r.share:.0%}",
            _n(r.quota_tpm),
            f"{r.headroom_settled:.1%}",
            f"{r.headroom_admission:.1%}",
            tpd,
            _ok(r.ok and r.tpd_ok),
        )
    return table


def _verdicts(report: CapacityReport) -> list[str]:
    n1 = report.n_plus_one
    survivors = ", ".join(n1.surviving_regions) or "no other Region"
    return [
        f"endpoint: {report.endpoint}; quota_regions: {len(report.quota_regions)} "
        f"({', '.join(report.quota_regions)}); routing_regions: {len(report.routing_regions)}",
        f"N+1 (lose {n1.lost_region}): {survivors} hold {_n(n1.surviving_tpm)} TPM against a peak "
        f"of {_n(n1.peak_tpm_settled)} settled / {_n(n1.peak_tpm_admission)} admission: "
        f"{_ok(n1.ok)}",
        f"overall: {_ok(report.ok)}",
    ]


def _n(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _compact(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _ok(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[red]NOT OK[/red]"
