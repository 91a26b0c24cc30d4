"""``agentkit capacity``: requests and tokens per minute per Region from the agent configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.capacity.config import CapacityConfig
    from agentkit.capacity.tools import ToolFigures
    from agentkit.config import AgentkitConfig


@traced("capacity")
def capacity(
    config: ConfigOption = None,
    json_output: JsonOption = False,
    failover: Annotated[
        bool,
        typer.Option(
            "--failover",
            help="Take each Region out in turn; exit 3 naming any whose loss the others "
            "cannot absorb (TPM at admission, TPD).",
        ),
    ] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="Price table to use instead of the shipped agentkit/data/prices-v1.json.",
        ),
    ] = None,
    cache_hit_ratio: Annotated[
        float | None,
        typer.Option(
            "--cache-hit-ratio",
            min=0.0,
            max=1.0,
            help="Measured prompt cache hit ratio (0-1) instead of capacity.cache_hit_rate: "
            "cache read tokens / (read + write) from gen_ai.usage.cache_* or "
            "agentkit.gateway.prompt_cache.tokens.",
        ),
    ] = None,
) -> None:
    """Seed and corrected capacity figures, headroom per Region against quotas, TPD and N+1,
    and dollars per month per Region and tier (with the price table's date).

    Reads the capacity: section of agentkit.yaml (see docs/capacity.md). With a tools: block,
    each tool's calls/s x p99 duration against its max_concurrent (and Lambda concurrency);
    exit 3 naming any tool short of the safety margin.
    """
    import json

    from agentkit.capacity.cost import monthly_cost
    from agentkit.capacity.load import load_with_source
    from agentkit.capacity.model import compute_capacity
    from agentkit.capacity.prices import load_prices
    from agentkit.capacity.report import cost_json, render, render_cost, to_json
    from agentkit.errors import GateFailed

    whole, source = load_with_source(config)
    assert whole.capacity is not None
    settings, run_budget = whole.capacity, whole.limits.run_token_budget
    if cache_hit_ratio is not None:
        settings = _with_hit_ratio(settings, cache_hit_ratio)
    if failover:
        _failover(settings, json_output)
        return
    table = load_prices(prices)
    report = compute_capacity(settings)
    cost = monthly_cost(settings, report.model, table, run_token_budget=run_budget)
    tools = _tools(settings, report.model.rpm, whole, source)
    if json_output:
        data = {**to_json(report), "cost": cost_json(cost)}
        if tools is not None:
            from agentkit.capacity.tools import tools_json

            data["tools"] = tools_json(tools)
        typer.echo(json.dumps(data, indent=2))
    else:
        from rich.console import Console

        console = Console()
        render(report, console)
        render_cost(cost, console)
        if tools is not None:
            _render_tools(tools, settings.safety_margin)
    if tools is not None:
        from agentkit.capacity.tools import shortfalls

        problems = shortfalls(tools, settings.safety_margin)
        if problems:
            raise GateFailed("; ".join(problems))


def _tools(
    settings: CapacityConfig, rpm: float, whole: AgentkitConfig, source: Path
) -> tuple[ToolFigures, ...] | None:
    """Little's law per tool (capacity.tools), or None without a tools block."""
    if not settings.tools:
        return None
    from agentkit.capacity.tools import tool_figures, tool_limits
    from agentkit.paths import data_dir
    from agentkit.tools.mcp_client import MCP_LOCK_NAME

    limits = tool_limits(data_dir("tools"), whole.mcp_servers, source.parent / MCP_LOCK_NAME)
    return tool_figures(settings, rpm, limits)


def _render_tools(rows: tuple[ToolFigures, ...], margin: float) -> None:
    typer.echo("tools: needed = peak x calls/s x p99 duration; headroom = 1 - needed / limit")
    for row in rows:
        lam = (
            f", lambda {row.lambda_concurrency} ({row.lambda_headroom:.0%})"
            if row.lambda_concurrency is not None and row.lambda_headroom is not None
            else ""
        )
        verdict = "ok" if row.ok else "SHORT"
        typer.echo(
            f"  {row.domain} [{', '.join(row.tools)}]: {row.calls_per_second:,.2f} calls/s, "
            f"needs {row.needed:,.1f} of max_concurrent {row.max_concurrent} "
            f"(headroom {row.headroom:.0%}{lam}, margin {margin:.0%})   {verdict}"
        )


def _with_hit_ratio(settings: CapacityConfig, ratio: float) -> CapacityConfig:
    from agentkit.errors import ConfigError

    if settings.cached_prefix_tokens == 0:
        raise ConfigError(
            "--cache-hit-ratio needs capacity.cached_prefix_tokens (the cached prefix's tokens, "
            "the part of the system prompt before the cachePoint); set it in agentkit.yaml"
        )
    return settings.model_copy(update={"cache_hit_rate": ratio})


def _failover(settings: CapacityConfig, json_output: bool) -> None:
    import json

    from agentkit.capacity.failover import failover_readiness
    from agentkit.errors import GateFailed

    readiness = failover_readiness(settings)
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "ok": readiness.ok,
                    "cases": [
                        {
                            "lost_region": c.lost_region,
                            "surviving_regions": list(c.surviving_regions),
                            "surviving_tpm": c.surviving_tpm,
                            "needed_tpm": c.needed_tpm,
                            "surviving_tpd": c.surviving_tpd,
                            "needed_tpd": c.needed_tpd,
                            "ok": c.ok,
                        }
                        for c in readiness.cases
                    ],
                    "idle_standbys": list(readiness.idle_standbys),
                },
                indent=2,
            )
        )
    else:
        for case in readiness.cases:
            verdict = "ok" if case.ok else "SHORT"
            typer.echo(
                f"lose {case.lost_region:15s} survivors {case.surviving_tpm:>12,.0f} TPM for "
                f"{case.needed_tpm:>12,.0f} needed   {verdict}"
            )
        for region in readiness.idle_standbys:
            typer.echo(
                f"warning: {region} carries no regular traffic: quota increases go first to "
                "traffic that uses its quota; run `agentkit canary` there or give it a share"
            )
    if not readiness.ok:
        raise GateFailed("; ".join(readiness.shortfalls()))
