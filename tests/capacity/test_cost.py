"""Dollars per month per Region and tier: arithmetic against hand-computed figures, the price
table's provenance, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from agentkit.capacity.cost import MINUTES_PER_MONTH, monthly_cost
from agentkit.capacity.model import compute_capacity
from agentkit.capacity.prices import TABLE_PATH, default_prices, load_prices
from agentkit.cli.app import main
from agentkit.errors import ConfigError
from tests.capacity.inputs import capacity_config

NOVA_PRO = "us.amazon.nova-pro-v1:0"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "capacity-nova-pro.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_the_worked_example_at_nova_pro_prices_by_hand() -> None:
    # domain.md 3.3: RPM 60 (20 threads, d = 20 s); I = 2,000 + 500 + 1,000 x 9/10 = 3,400;
    # O = 1,000.
    # A month: 60 x 43,800 = 2,628,000 calls; 8,935,200,000 input tokens x $0.0008 / 1k =
    # $7,148.16; 2,628,000,000 output tokens x $0.0032 / 1k = $8,409.60; $15,557.76 in all.
    config = capacity_config(model_id=NOVA_PRO)
    cost = monthly_cost(config, compute_capacity(config).model, default_prices())
    assert MINUTES_PER_MONTH == 43_800
    east, west = cost.regions
    assert (east.region, east.tier, west.region) == ("us-east-1", "default", "us-west-2")
    assert east.input_tokens == pytest.approx(8_935_200_000)
    assert east.output_tokens == pytest.approx(2_628_000_000)
    assert east.input_usd == pytest.approx(7_148.16)
    assert east.output_usd == pytest.approx(8_409.60)
    assert cost.usd_per_month == pytest.approx(15_557.76)
    assert west.usd == 0  # no share: an on-demand standby bills no tokens
    assert cost.table == "prices-v1, read 2026-12-07"
    assert any("no Region" in a for a in cost.assumptions)
    assert any("no service tier" in a for a in cost.assumptions)


def test_the_run_budget_in_dollars_by_hand() -> None:
    # 50,000 tokens at the load's mix: 3,400 input : 1,000 output per call.
    # 50 x (3,400 x 0.0008 + 1,000 x 0.0032) / 4,400 = $0.067272...;
    # all output: 50 x 0.0032 = $0.16.
    config = capacity_config(model_id=NOVA_PRO)
    cost = monthly_cost(
        config, compute_capacity(config).model, default_prices(), run_token_budget=50_000
    )
    assert cost.run_budget is not None
    assert cost.run_budget.usd_at_mix == pytest.approx(50 * (3400 * 0.0008 + 1000 * 0.0032) / 4400)
    assert cost.run_budget.usd_all_output == pytest.approx(0.16)


def test_what_the_table_does_not_price_is_said_not_guessed() -> None:
    claude = capacity_config(model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    cost = monthly_cost(claude, compute_capacity(claude).model, default_prices())
    assert cost.usd_per_month is None
    assert cost.regions == ()
    assert cost.not_priced == (
        "prices-v1, read 2026-12-07 has no price for us.anthropic.claude-sonnet-4-5-20250929-v1:0 "
        "at the default tier in us-east-1, us-west-2; see its not_covered list",
    )
    priority = capacity_config(model_id=NOVA_PRO, service_tier="priority")
    cost = monthly_cost(priority, compute_capacity(priority).model, default_prices())
    assert cost.usd_per_month is None
    assert "at the priority tier" in cost.not_priced[0]
    unnamed = capacity_config()
    cost = monthly_cost(unnamed, compute_capacity(unnamed).model, default_prices())
    assert cost.not_priced == ("set capacity.model_id to price the load",)


def test_every_price_names_its_source_and_the_day_it_was_read() -> None:
    raw = json.loads(TABLE_PATH.read_text())
    table = default_prices()
    entries = [m.source for m in table.models] + [i.source for i in table.items.values()]
    for source in entries:
        assert source.url.startswith("https://")
        dt.date.fromisoformat(source.read)
        assert source.via
    # The figures are the ones the seeds and domain.md quote, in the words they quote them.
    assert table.item("arc_region_switch_plan").usd == 70
    assert "$70 per month per plan" in table.item("arc_region_switch_plan").source.says
    assert table.item("route53_health_check_aws_endpoint").usd == 0.5
    assert "$0.50" in table.item("route53_health_check_aws_endpoint").source.says
    assert table.item("route53_health_check_optional_feature").usd == 1.0
    assert table.item("savings_plan_max_discount").fraction == 0.72
    (nova,) = table.models
    assert (nova.input_per_1k, nova.output_per_1k) == (0.0008, 0.0032)
    assert "$0.80/$3.20" in nova.source.says
    assert any("anthropic.claude" in n["what"] for n in raw["not_covered"])


def test_the_cli_prints_dollars_per_region_and_tier_with_the_table_date(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # examples/capacity-nova-pro.yaml: d = 1,000 / 141 s, RPM = 20 x 60 / d = 169.2;
    # 169.2 x 43,800 = 7,410,960 calls a month x (3,400 x 0.0008 + 1,000 x 0.0032) / 1k
    # = 7,410,960 x 5.92 / 1,000 = $43,872.88; 60% / 40% between us-east-1 and us-west-2.
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "--json")
    assert code == 0
    cost = json.loads(out)["cost"]
    assert cost["prices"] == "prices-v1, read 2026-12-07"
    assert cost["usd_per_month"] == pytest.approx(43_872.88)
    assert cost["regions"]["us-east-1"]["usd_per_month"] == pytest.approx(26_323.73)
    assert cost["regions"]["us-west-2"]["usd_per_month"] == pytest.approx(17_549.15)
    assert cost["regions"]["us-east-2"]["usd_per_month"] == 0
    assert {r["tier"] for r in cost["regions"].values()} == {"default"}
    assert cost["run_budget"]["tokens"] == 50_000
    code, out, _ = run(capsys, "-c", str(EXAMPLE))
    assert code == 0
    assert "Cost per month (prices-v1, read 2026-12-07; USD)" in out
    assert "26,323.73" in out
    assert "total $43,872.88 a month" in " ".join(out.split())


def test_a_bad_price_table_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, write_config: Any
) -> None:
    broken = tmp_path / "prices.json"
    broken.write_text('{"version": 1, "read": "2026-12-07"}')
    code, _, err = run(capsys, "-c", str(EXAMPLE), "--prices", str(broken))
    assert code == 2
    assert err.count("\n") == 1
    assert "a price table has version, read, bedrock and items" in err
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match=r"prices.json:1: not valid JSON"):
        load_prices(broken)
    code, _, err = run(capsys, "-c", str(EXAMPLE), "--prices", str(tmp_path / "missing.json"))
    assert code == 2
    assert "missing.json" in err
    assert "Traceback" not in err
