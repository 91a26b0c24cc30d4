"""``agentkit capacity --failover``: every Region out in turn; name the ones the rest cannot
absorb (issue 20). Worked example: admission needs 504,000 TPM at peak, settled 504,000 TPM on
average (RPM 60 x (3,400 input + 5 x 1,000 output))."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.capacity.failover import failover_readiness
from agentkit.cli.app import main
from tests.capacity.inputs import capacity_config, worked_example

BIG = {"tpm": 1_000_000, "tpd": 1_440_000_000}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_the_region_that_cannot_absorb_a_failover_is_named(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    quotas = {"us-east-1": BIG, "us-west-2": {"tpm": 400_000}}
    path = write_config({"capacity": worked_example(quotas=quotas)})
    code, out, err = run(capsys, "-c", str(path), "--failover")
    assert code == 3
    assert "losing us-east-1: us-west-2 cannot absorb it (104,000 TPM short" in err
    assert "losing us-west-2" not in err  # us-east-1 alone carries the load
    assert "us-west-2 carries no regular traffic" in out
    assert err.count("\n") == 1


def test_a_plan_whose_every_region_can_absorb_the_rest_passes(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    quotas = {"us-east-1": BIG, "us-west-2": BIG}
    share = {"us-east-1": 0.5, "us-west-2": 0.5}
    path = write_config({"capacity": worked_example(quotas=quotas, traffic_share=share)})
    code, out, _ = run(capsys, "-c", str(path), "--failover", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert report["idle_standbys"] == []
    assert [c["lost_region"] for c in report["cases"]] == ["us-east-1", "us-west-2"]


def test_the_daily_quota_counts_too() -> None:
    quotas = {"us-east-1": BIG, "us-west-2": {"tpm": 1_000_000, "tpd": 100_000_000}}
    readiness = failover_readiness(capacity_config(quotas=quotas))
    (short,) = [c for c in readiness.cases if not c.ok]
    assert short.lost_region == "us-east-1"
    assert short.tpm_shortfall == 0
    assert short.tpd_shortfall == 1440 * 504_000 - 100_000_000
