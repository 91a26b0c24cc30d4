"""Every formula of domain.md 3.4 on hand-computed cases."""

from __future__ import annotations

import pytest

from agentkit.capacity import formulas as f
from agentkit.capacity.model import compute_capacity
from tests.capacity.inputs import capacity_config

# A hand-computed case: lambda = 6 threads/min, N = 4 of R = 10, O_max 2,000, O_avg 500, TPS 100,
# TTFT 1 s, tools 2 s, S 1,000, U 200, K 300, T 100, P 800 at h = 0.5, b = 5, peak 1.5.
CASE = {
    "concurrent_threads": None,
    "threads_per_minute": 6,
    "calls_per_thread": 4,
    "max_completion_tokens": 2000,
    "avg_completion_tokens": 500,
    "tokens_per_second": 100,
    "time_to_first_token_s": 1,
    "tool_time_s": 2,
    "system_prompt_tokens": 1000,
    "user_prompt_tokens": 200,
    "rag_tokens_per_call": 300,
    "tool_result_tokens_per_call": 100,
    "cached_prefix_tokens": 800,
    "cache_hit_rate": 0.5,
    "peak_factor": 1.5,
    "traffic_share": {"us-east-1": 0.75, "us-west-2": 0.25},
    "quotas": {"us-east-1": {"tpm": 500_000}, "us-west-2": {"tpm": 200_000}},
}


def test_call_duration_is_ttft_plus_generation_plus_tools() -> None:
    assert f.call_duration(1, 500, 100, 2) == 8  # 1 + 500/100 + 2


def test_rpm_from_arrivals_and_from_concurrency() -> None:
    assert f.rpm_from_arrivals(6, 4) == 24
    assert f.rpm_from_concurrency(4, 8) == 30  # 4 threads x 60 s / 8 s


@pytest.mark.parametrize(("mode", "carry"), [("last", 450), ("full", 900)])
def test_carry_last_and_full_history(mode: str, carry: float) -> None:
    # (500 + 100) x 3 / 4 = 450 ; (500 + 100) x 3 / 2 = 900
    assert f.carry_tokens(500, 100, 4, mode) == carry  # type: ignore[arg-type]


def test_carry_is_zero_for_a_single_call() -> None:
    assert f.carry_tokens(1000, 0, 1, "last") == 0
    assert f.carry_tokens(1000, 0, 1, "full") == 0


def test_input_and_per_call_token_accounting() -> None:
    i = f.input_tokens(1000, 200, 300, 450)
    assert i == 1950
    assert f.raw_tokens_per_call(i, 500) == 2450
    # (1950 - 800) + 800 x 0.5 + 5 x 500
    assert f.settled_tokens_per_call(i, 500, 5, 800, 0.5) == 4050
    assert f.admission_tokens_per_call(i, 2000, 5) == 11_950  # 1950 + 5 x 2000


def test_headroom_and_tpd() -> None:
    assert f.headroom(1.5, 0.75, 97_200, 500_000) == pytest.approx(0.7813)
    assert f.tokens_per_day(97_200, 0.75) == 104_976_000
    assert f.default_tpd(500_000) == 720_000_000


def test_model_figures_for_the_hand_computed_case() -> None:
    model = compute_capacity(capacity_config(**CASE)).model
    assert model.call_duration_s == 8
    assert model.calls_per_thread == 4
    assert model.rpm == 24
    assert model.carry_tokens == 450
    assert model.input_tokens_per_call == 1950
    assert model.tpm_raw == 24 * 2450
    assert model.tpm_settled == 24 * 4050
    assert model.tpm_admission == 24 * 11_950


def test_full_history_changes_only_the_carry() -> None:
    model = compute_capacity(capacity_config(**CASE, context_mode="full")).model
    assert model.input_tokens_per_call == 2400  # 1000 + 200 + 300 + 900
    assert model.tpm_raw == 24 * 2900


def test_concurrency_gives_c_60_over_d() -> None:
    case = {**CASE, "threads_per_minute": None, "concurrent_threads": 4}
    assert compute_capacity(capacity_config(**case)).model.rpm == 30


def test_calls_per_thread_defaults_to_and_is_capped_at_the_recursion_limit() -> None:
    default = compute_capacity(capacity_config(**{**CASE, "calls_per_thread": None}))
    assert default.model.calls_per_thread == 10
    assert default.model.rpm == 60
    capped = compute_capacity(capacity_config(**{**CASE, "calls_per_thread": 25}))
    assert capped.model.calls_per_thread == 10
    assert any("capped at 10" in w for w in capped.warnings)


def test_avg_completion_defaults_to_max() -> None:
    model = compute_capacity(capacity_config()).model
    assert model.avg_completion_tokens == model.max_completion_tokens == 1000


def test_per_region_headroom_tpd_and_verdict() -> None:
    report = compute_capacity(capacity_config(**CASE))
    east, west = report.regions
    assert (east.region, west.region) == ("us-east-1", "us-west-2")
    assert east.headroom_settled == pytest.approx(1 - 1.5 * 0.75 * 97_200 / 500_000)  # 0.7813
    assert east.headroom_admission == pytest.approx(1 - 1.5 * 0.75 * 286_800 / 500_000)  # 0.3547
    assert west.headroom_settled == pytest.approx(0.81775)
    assert west.headroom_admission == pytest.approx(0.46225)
    assert east.ok
    assert west.ok
    assert east.tpd_needed == pytest.approx(104_976_000)
    assert east.tpd_quota == 720_000_000
    assert east.tpd_quota_is_default
    assert report.tpd_ok
    assert report.headroom_ok


def test_a_region_is_not_ok_when_either_headroom_is_below_the_margin() -> None:
    report = compute_capacity(capacity_config(**{**CASE, "safety_margin": 0.4}))
    east = report.regions[0]
    assert east.headroom_settled >= 0.4 > east.headroom_admission
    assert not east.ok
    assert not report.ok


def test_tpd_check_against_a_configured_daily_quota() -> None:
    report = compute_capacity(capacity_config())
    east = report.regions[0]
    # 1440 x 504,000 x 1.0 = 725,760,000 > 576,000,000
    assert east.tpd_needed == 725_760_000
    assert not east.tpd_ok
    assert not east.tpd_quota_is_default


def test_n_plus_one_loses_the_largest_source_region() -> None:
    n1 = compute_capacity(capacity_config(**CASE)).n_plus_one
    assert n1.lost_region == "us-east-1"
    assert n1.surviving_regions == ("us-west-2",)
    assert n1.surviving_tpm == 200_000
    assert n1.peak_tpm_settled == pytest.approx(145_800)  # 1.5 x 97,200: covered
    assert n1.peak_tpm_admission == pytest.approx(430_200)  # 1.5 x 286,800: not covered
    assert n1.ok_settled
    assert not n1.ok_admission
    assert not n1.ok


def test_n_plus_one_with_a_single_region_has_no_survivor() -> None:
    config = capacity_config(quotas={"us-east-1": {"tpm": 10_000_000}})
    n1 = compute_capacity(config).n_plus_one
    assert n1.surviving_regions == ()
    assert n1.surviving_tpm == 0
    assert not n1.ok


def test_cris_double_doubles_cross_region_quotas_only() -> None:
    profile = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    doubled = compute_capacity(capacity_config(model_id=profile, cris_double=True))
    assert doubled.endpoint == "geo-cris"
    assert doubled.regions[0].quota_tpm == 800_000
    plain = compute_capacity(capacity_config(cris_double=True))
    assert plain.regions[0].quota_tpm == 400_000
    assert any("ignored for in-region" in w for w in plain.warnings)


def test_quota_and_routing_regions() -> None:
    in_region = compute_capacity(capacity_config())
    assert in_region.quota_regions == ("us-east-1",)
    assert in_region.routing_regions == ("us-east-1",)
    geo = compute_capacity(capacity_config(model_id="us.amazon.nova-pro-v1:0", burndown=None))
    assert geo.routing_regions == ("us-east-1", "us-east-2", "us-west-2")
    glob = compute_capacity(capacity_config(model_id="global.amazon.nova-pro-v1:0"))
    assert glob.endpoint == "global-cris"
    assert len(glob.routing_regions) > 20
    assert "us-gov-west-1" not in glob.routing_regions
    assert any("residency" in w for w in glob.warnings)
    given = compute_capacity(capacity_config(routing_regions=["us-west-2", "us-east-1"]))
    assert given.routing_regions == ("us-east-1", "us-west-2")
