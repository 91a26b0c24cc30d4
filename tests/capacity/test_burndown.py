"""The versioned burndown table and model-ID lookups."""

from __future__ import annotations

import pytest

from agentkit.capacity.burndown import TABLE_VERSION, base_model_id, default_table
from agentkit.capacity.model import compute_capacity
from tests.capacity.inputs import capacity_config


@pytest.mark.parametrize(
    ("model_id", "rate"),
    [
        ("anthropic.claude-opus-4-20250514-v1:0", 5),
        ("anthropic.claude-opus-4-5-20251101-v1:0", 5),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", 5),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", 5),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", 5),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", 5),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", 1),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", 1),
        ("anthropic.claude-3-haiku-20240307-v1:0", 1),
        ("us.amazon.nova-pro-v1:0", 1),
        ("meta.llama3-70b-instruct-v1:0", 1),
        ("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-sonnet-4-v1:0", 5),
    ],
)
def test_rates_per_model_family(model_id: str, rate: float) -> None:
    entry = default_table().lookup(model_id)
    assert entry is not None
    assert entry.burndown == rate


def test_unknown_models_have_no_entry() -> None:
    assert default_table().lookup("cohere.command-r-v1:0") is None
    assert default_table().lookup("anthropic.claude-instant-v1") is None


def test_base_model_id_strips_profile_prefix_and_arn() -> None:
    assert base_model_id("us.amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0"
    assert base_model_id("amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0"
    assert base_model_id("arn:aws:bedrock:eu-west-1:1:inference-profile/eu.x.y") == "x.y"


def test_table_is_versioned() -> None:
    assert default_table().version == TABLE_VERSION == 1


def test_burndown_and_model_maximum_from_the_model_id() -> None:
    config = capacity_config(
        burndown=None,
        max_completion_tokens=None,
        avg_completion_tokens=800,
        model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
    report = compute_capacity(config)
    assert report.model.burndown == 5
    assert (
        report.model.burndown_source
        == "burndown-v1: anthropic.claude-sonnet-4 (BURN, CWBLOG, REPOST)"
    )
    assert report.model.max_completion_tokens == 64_000
    assert report.model.avg_completion_tokens == 800
    assert report.endpoint == "geo-cris"
    warnings = " | ".join(report.warnings)
    assert "max_completion_tokens is unset" in warnings
    assert "64,000" in warnings
    assert "burndown 5x" in warnings
    assert "burndown-v1" in warnings


def test_configured_burndown_wins_over_the_table() -> None:
    config = capacity_config(burndown=2, model_id="anthropic.claude-sonnet-4-20250514-v1:0")
    assert compute_capacity(config).model.burndown == 2


def test_no_burndown_warning_at_rate_1() -> None:
    report = compute_capacity(capacity_config(burndown=1))
    assert not any("burndown" in w for w in report.warnings)


def test_full_history_warning() -> None:
    report = compute_capacity(capacity_config(context_mode="full"))
    assert any("context_mode full" in w and "4,500" in w for w in report.warnings)
