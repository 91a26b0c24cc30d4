from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app
from agentkit.emulator import Emulator

from .conftest import NOVA, PRIMARY, SECONDARY, SONNET, TERTIARY


def write_config(tmp_path: Path, emu: Emulator, extra: str = "") -> Path:
    endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
    path = tmp_path / "agentkit.yaml"
    path.write_text(f"""models:
  residency: us
  routes:
    - {{model: {SONNET}, region: {PRIMARY}}}
    - {{model: {SONNET}, region: {SECONDARY}}}
    - {{model: {NOVA}, region: {TERTIARY}}}
  endpoints: {{{endpoints}}}
{extra}""")
    return path


def run(path: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["doctor", "-c", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_doctor_probes_every_route(
    bedrock_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, report = run(write_config(tmp_path, bedrock_emulator))
    assert code == 0
    assert report["healthy"] is True
    routes = report["routes"]
    assert isinstance(routes, list)
    assert [r["probe"].split(" ")[0] for r in routes] == ["ok", "ok", "ok"]
    assert {c.operation for c in bedrock_emulator.calls()} == {"CountTokens"}


def test_doctor_flags_a_down_region_and_a_missing_guardrail(
    bedrock_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bedrock_emulator.set_faults({"regions": {SECONDARY: {"down": True}}})
    extra = f"guardrails: {{{PRIMARY}: {{id: default}}, {TERTIARY}: {{id: gr-missing}}}}\n"
    code, report = run(write_config(tmp_path, bedrock_emulator, extra))
    assert code == 1
    by_region = {r["region"]: r for r in report["routes"]}  # type: ignore[union-attr]
    assert by_region[PRIMARY]["usable"] is True
    assert by_region[SECONDARY]["probe"].startswith("failed: ConnectionRefused")
    assert by_region[SECONDARY]["guardrail"].startswith("missing")
    assert "ResourceNotFoundException" in by_region[TERTIARY]["guardrail"]


def test_doctor_reports_residency_route_by_route(
    bedrock_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    path = write_config(tmp_path, bedrock_emulator)
    path.write_text(
        path.read_text().replace(
            f"{{model: {NOVA}, region: {TERTIARY}}}",
            f"{{model: global.{SONNET.split('.', 1)[1]}, region: {TERTIARY}}}",
        )
    )
    code, report = run(path)
    assert code == 1
    assert "allow_global_profiles" in report["routes"][2]["residency"]  # type: ignore[index]
    assert report["routes"][2]["probe"] == "skipped"  # type: ignore[index]


def test_doctor_shows_admission_buckets(
    bedrock_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    extra = (
        f"resilience: {{admission: {{enabled: true, tpm: {{{PRIMARY}: 400000, {SECONDARY}: 200000,"
        f" {TERTIARY}: 100000}}}}}}\n"
    )
    code, report = run(write_config(tmp_path, bedrock_emulator, extra))
    assert code == 0
    assert [r["admission"] for r in report["routes"]] == [  # type: ignore[index]
        "400000 TPM, burndown 5x",
        "200000 TPM, burndown 5x",
        "100000 TPM, burndown 1x",
    ]
