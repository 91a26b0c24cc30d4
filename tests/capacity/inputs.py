"""Shared inputs: the worked example of domain.md 3.3."""

from __future__ import annotations

from typing import Any

from agentkit.capacity.config import CapacityConfig


def worked_example(**overrides: Any) -> dict[str, Any]:
    """domain.md 3.3: 20 busy threads, O = 1,000, TPS 50, S 2,000, U 500, R 10, burndown 5."""
    section: dict[str, Any] = {
        "concurrent_threads": 20,
        "max_completion_tokens": 1000,
        "tokens_per_second": 50,
        "system_prompt_tokens": 2000,
        "user_prompt_tokens": 500,
        "recursion_limit": 10,
        "burndown": 5,
        "traffic_share": {"us-east-1": 1.0},
        "quotas": {
            "us-east-1": {"tpm": 400_000, "tpd": 576_000_000},
            "us-west-2": {"tpm": 400_000},
        },
    }
    section.update(overrides)
    return {key: value for key, value in section.items() if value is not None}


def capacity_config(**overrides: Any) -> CapacityConfig:
    return CapacityConfig.model_validate(worked_example(**overrides))
