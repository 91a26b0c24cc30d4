"""``agentkit capacity``: requests and tokens per minute per Region from the agent configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentkit.cli.options import ConfigOption, JsonOption
from agentkit.cli.traced import traced

if TYPE_CHECKING:
    from agentkit.capacity.config import CapacityConfig


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

    Reads the capacity: section of agentkit.yaml (see docs/capacity.md).
    """
    import json

    from agentkit.capacity.cost import monthly_cost
    from agentkit.capacity.load import load_with_limits
    from agentkit.capacity.model import compute_capacity
    from agentkit.capacity.prices import load_prices
    from agentkit.capacity.report import cost_json, render, render_cost, to_json

    settings, run_budget = load_with_limits(config)
    if cache_hit_ratio is not None:
        settings = _with_hit_ratio(settings, cache_hit_ratio)
    if failover:
        _failover(settings, json_output)
        return
    table = load_prices(prices)
    report = compute_capacity(settings)
    cost = monthly_cost(settings, report.model, table, run_token_budget=run_budget)
    if json_output:
        typer.echo(json.dumps({**to_json(report), "cost": cost_json(cost)}, indent=2))
        return
    from rich.console import Console

    console = Console()
    render(report, console)
    render_cost(cost, console)


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
