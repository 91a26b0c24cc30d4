from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.config import AgentkitConfig
from agentkit.gameday import run_game_day


def test_default_game_day_fails_over_from_the_first_region() -> None:
    report = run_game_day(AgentkitConfig(), None, requests=6)
    assert report.plan == {"regions": {"us-east-1": {"down": True}}}
    assert report.answered == 6
    assert {o.region for o in report.outcomes} == {"us-west-2"}
    assert report.outcomes[0].attempts == ["us-east-1:ConnectionRefused", "us-west-2:ok"]
    assert report.outcomes[-1].attempts == ["us-east-1:CircuitOpen", "us-west-2:ok"]  # fail_max 5
    assert report.calls_by_region == {"us-west-2": 6}


def test_game_day_cli_exits_1_when_requests_go_unanswered(tmp_path: Path) -> None:
    plan = tmp_path / "all-down.yaml"
    plan.write_text(
        "regions: {us-east-1: {down: true}, us-west-2: {down: true}, us-east-2: {down: true}}\n"
    )
    result = CliRunner().invoke(
        app, ["gameday", "--faults", str(plan), "--requests", "2", "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["answered"] == 0
    assert report["outcomes"][0]["error"].startswith("AllRoutesFailed")
