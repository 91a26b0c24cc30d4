"""The two views of one :class:`CapacityReport`: JSON (``--json``) and a rich table."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from agentkit.capacity.model import CapacityReport, RegionFigures

if TYPE_CHECKING:
    from rich.console import Console

    from agentkit.capacity.cost import CostReport

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


USD_DECIMALS = 2


def cost_json(cost: CostReport) -> dict[str, Any]:
    """``cost`` in the JSON output: dollars rounded to cents, tokens whole."""
    price = cost.price
    total = cost.usd_per_month
    budget = cost.run_budget
    return {
        "prices": cost.table,
        "currency": "USD",
        "model_id": cost.model_id,
        "tier": cost.tier,
        "price_per_1k": None
        if price is None
        else {
            "input": price.input_per_1k,
            "output": price.output_per_1k,
            "source": price.source.cite(),
        },
        "regions": {
            r.region: {
                "tier": r.tier,
                "share": r.share,
                "input_tokens_per_month": round(r.input_tokens),
                "output_tokens_per_month": round(r.output_tokens),
                "input_usd": round(r.input_usd, USD_DECIMALS),
                "output_usd": round(r.output_usd, USD_DECIMALS),
                "usd_per_month": round(r.usd, USD_DECIMALS),
            }
            for r in cost.regions
        },
        "usd_per_month": None if total is None else round(total, USD_DECIMALS),
        "run_budget": None
        if budget is None
        else {
            "tokens": budget.tokens,
            "usd_at_mix": round(budget.usd_at_mix, 4),
            "usd_all_output": round(budget.usd_all_output, 4),
        },
        "not_priced": list(cost.not_priced),
        "assumptions": list(cost.assumptions),
    }


def render_cost(cost: CostReport, console: Console) -> None:
    """The cost table: dollars per month per Region and tier, the table's date, the caveats."""
    from rich.table import Table

    title = f"Cost per month ({cost.table}; USD)"
    if cost.price is None:
        console.print(f"{title}: not priced: {'; '.join(cost.not_priced)}", highlight=False)
        return
    table = Table(
        "Region", "tier", "share", "input tokens", "output tokens", "$/month", title=title
    )
    for r in cost.regions:
        table.add_row(
            r.region,
            r.tier,
            f"{r.share:.0%}",
            _compact(r.input_tokens) if r.input_tokens else "0",
            _compact(r.output_tokens) if r.output_tokens else "0",
            f"{r.usd:,.2f}",
        )
    console.print(table)
    price = cost.price
    console.print(
        f"{cost.model_id}: ${price.input_per_1k:g} input / ${price.output_per_1k:g} output per "
        f"1k tokens ({price.source.cite()}); total ${cost.usd_per_month or 0:,.2f} a month",
        highlight=False,
    )
    if cost.run_budget is not None:
        b = cost.run_budget
        console.print(
            f"run budget: {b.tokens:,} tokens = ${b.usd_at_mix:,.4f} at this load's input/output "
            f"mix (at most ${b.usd_all_output:,.4f} if every token were output)",
            highlight=False,
        )
    for line in cost.assumptions:
        console.print(f"assumption: {line}", highlight=False)
