"""Warnings the calculator attaches to its figures: assumptions a reader must not miss."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.capacity import formulas as f

if TYPE_CHECKING:
    from agentkit.capacity.config import CapacityConfig
    from agentkit.capacity.model import ModelFigures


def collect_warnings(config: CapacityConfig, model: ModelFigures) -> tuple[str, ...]:
    checks = (
        _max_tokens_unset,
        _full_history,
        _burndown_in_use,
        _calls_capped,
        _seed_units,
        _cris_double,
        _global_profile,
    )
    return tuple(message for check in checks if (message := check(config, model)))


def _max_tokens_unset(config: CapacityConfig, model: ModelFigures) -> str | None:
    if config.max_completion_tokens is not None:
        return None
    return (
        f"max_completion_tokens is unset: Bedrock reserves the model maximum "
        f"({model.max_completion_tokens:,} tokens) at admission for every call; set max_tokens "
        "to what the agent needs"
    )


def _full_history(config: CapacityConfig, model: ModelFigures) -> str | None:
    if config.context_mode != "full":
        return None
    last = f.carry_tokens(
        model.avg_completion_tokens,
        config.tool_result_tokens_per_call,
        model.calls_per_thread,
        "last",
    )
    return (
        f"context_mode full: each call carries {model.carry_tokens:,.0f} tokens of history on "
        f"average ((O_avg+T)(N-1)/2), against {last:,.0f} when only the last step is carried"
    )


def _burndown_in_use(config: CapacityConfig, model: ModelFigures) -> str | None:
    if model.burndown == 1:
        return None
    return (
        f"burndown {model.burndown:g}x: every output token counts {model.burndown:g} times "
        f"against TPM (source: {model.burndown_source})"
    )


def _calls_capped(config: CapacityConfig, model: ModelFigures) -> str | None:
    if config.calls_per_thread is None or config.calls_per_thread <= config.recursion_limit:
        return None
    return (
        f"calls_per_thread {config.calls_per_thread:g} exceeds recursion_limit "
        f"{config.recursion_limit}: N is capped at {config.recursion_limit}"
    )


def _seed_units(config: CapacityConfig, model: ModelFigures) -> str | None:
    if config.threads_per_minute is None:
        return None
    return (
        "seed.rpm multiplies threads started per minute by calls per busy-thread minute "
        "(calls/min^2); it is shown for comparison only: model.rpm is lambda*N"
    )


def _cris_double(config: CapacityConfig, model: ModelFigures) -> str | None:
    if not config.cris_double:
        return None
    if config.resolved_endpoint == "in-region":
        return "cris_double is ignored for in-region endpoints"
    return (
        "cris_double: quotas are doubled for cross-Region inference, after a historical "
        "documentation statement; current quotas are not documented to double"
    )


def _global_profile(config: CapacityConfig, model: ModelFigures) -> str | None:
    if config.resolved_endpoint != "global-cris":
        return None
    return "a global. profile may process calls in any commercial Region: check residency"
