"""domain.md 3.3, reproduced figure by figure."""

from __future__ import annotations

from agentkit.capacity.model import compute_capacity
from tests.capacity.inputs import capacity_config


def test_seed_rpm_and_tpm() -> None:
    seed = compute_capacity(capacity_config()).seed
    assert seed.call_duration_s == 20
    assert seed.calls_per_thread_per_minute == 4
    assert seed.rpm == 80
    assert seed.input_tokens_per_call == 3_400
    assert seed.tpm == 272_000


def test_seed_full_history_variant() -> None:
    seed = compute_capacity(capacity_config()).seed
    assert seed.input_tokens_full_history == 7_000
    assert seed.tpm_full_history == 560_000


def test_settled_quota_at_the_seeds_rpm_with_burndown_5() -> None:
    report = compute_capacity(capacity_config())
    assert report.seed.tpm_settled == 672_000
    # raw input + output at the seed's RPM is only 352,000
    assert report.seed.rpm * (report.seed.input_tokens_per_call + 1000) == 352_000


def test_settled_quota_with_the_system_prompt_cached_at_90_percent() -> None:
    config = capacity_config(cached_prefix_tokens=2000, cache_hit_rate=0.9)
    assert compute_capacity(config).seed.tpm_settled == 528_000


def test_the_models_own_rpm_is_c_times_60_over_d() -> None:
    model = compute_capacity(capacity_config()).model
    assert model.call_duration_s == 20
    assert model.rpm == 60
    assert model.input_tokens_per_call == 3_400
    assert model.tpm_settled == 60 * (3_400 + 5 * 1000)
