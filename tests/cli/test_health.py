"""`agentkit health` against the emulator: healthy while one route answers, unhealthy only when
none does, healthy again after recovery (issue 21, deep health)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.emulator import Emulator

from .test_routes_canary import FALLBACK, PRIMARY, write_config


def health(config: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["health", "-c", str(config), "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_deep_health_follows_the_chain_not_one_route(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    config = write_config(tmp_path, bedrock_emulator)
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}}})
    code, report = health(config)
    assert (code, report["status"]) == (0, "healthy")  # the fallback answers
    assert "1 of 2 route(s) down" in str(report["reason"])

    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}, FALLBACK: {"down": True}}})
    code, report = health(config)
    assert (code, report["status"]) == (1, "unhealthy")
    assert "no route answers" in str(report["reason"])

    bedrock_emulator.set_faults({})  # recovery
    code, report = health(config)
    assert (code, report["status"]) == (0, "healthy")
    assert all(r["ok"] for r in report["routes"])  # type: ignore[union-attr]
