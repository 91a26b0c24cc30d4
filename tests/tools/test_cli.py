from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from agentkit.cli.app import app


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_call_prints_the_validated_response(tmp_path: Path) -> None:
    request = tmp_path / "req.json"
    request.write_text(
        json.dumps(
            {
                "workload": "payments-api",
                "rto_minutes": 15,
                "rpo_minutes": 1,
                "primary_region": "eu-west-1",
                "residency": ["eu"],
            }
        )
    )
    result = run("tools", "call", "dr_advisor", "--input", str(request))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["strategy"] == "warm_standby"


def test_invalid_input_is_exit_2_with_the_schema_path(tmp_path: Path) -> None:
    request = tmp_path / "req.json"
    request.write_text(
        json.dumps(
            {"workload": "w", "rto_minutes": -5, "rpo_minutes": 1, "primary_region": "eu-west-1"}
        )
    )
    result = run("tools", "call", "dr_advisor", "--input", str(request))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "agentkit: error: dr_advisor input invalid: $.rto_minutes: -5 is less than or equal to the "
        "minimum of 0 (schema: properties/rto_minutes/exclusiveMinimum)"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{oops")
    result = run("tools", "call", "dr_advisor", "--input", str(broken))
    assert result.returncode == 2
    assert "broken.json:1: invalid JSON" in result.stderr


def test_list_show_and_validate() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["tools", "list"])
    assert "dr_advisor" in listed.stdout
    assert "failover_runbook" in listed.stdout
    shown = json.loads(runner.invoke(app, ["tools", "show", "failover_runbook"]).stdout)
    assert shown["version"] == "1.0.0"
    assert shown["side_effect"] == "read_only"
    assert shown["idempotency_key_required"] is False
    assert (shown["max_concurrent"], shown["max_queue"]) == (4, 16)
    assert runner.invoke(app, ["tools", "validate"]).stdout.strip() == "6 tool contract(s) valid"
