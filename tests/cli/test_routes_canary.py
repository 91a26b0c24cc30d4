"""`agentkit canary` and `agentkit routes check` end to end (issue 20, done-when items)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentkit.cli.app import app, main
from agentkit.emulator import Emulator

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
PRIMARY, FALLBACK = "us-east-1", "us-west-2"


def write_config(tmp_path: Path, emu: Emulator | None = None, *routes: tuple[str, str]) -> Path:
    routes = routes or ((SONNET, PRIMARY), (NOVA, FALLBACK))
    lines = ["models:", "  residency: us", "  routes:"]
    lines += [f"    - {{model: {model}, region: {region}}}" for model, region in routes]
    if emu is not None:
        endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
        lines.append(f"  endpoints: {{{endpoints}}}")
    lines += ["resilience:", "  timeouts: {connect_s: 1.0, read_s: 2.0}"]
    path = tmp_path / "agentkit.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- agentkit canary ------------------------------------------------------------------------------


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_canary_once_with_both_routes_healthy_exits_0_and_reports_both(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    config = write_config(tmp_path, bedrock_emulator)
    result = CliRunner().invoke(
        app, ["canary", "--once", "-c", str(config), "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["route"] for r in report["routes"]] == [f"{SONNET}@{PRIMARY}", f"{NOVA}@{FALLBACK}"]
    assert all(r["ok"] for r in report["routes"])
    assert json.loads(out.read_text()) == report
    assert "canary cost bound per run: 2 route(s)" in result.stderr
    state = Path(os.environ["AGENTKIT_HOME"]) / "canary.json"
    assert set(json.loads(state.read_text())["routes"]) == {r["route"] for r in report["routes"]}


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_canary_once_with_the_fallback_locked_out_exits_1_naming_it_and_why(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    bedrock_emulator.set_faults({"regions": {FALLBACK: {"errors": [{"code": "legacy_model"}]}}})
    config = write_config(tmp_path, bedrock_emulator)
    result = CliRunner().invoke(app, ["canary", "--once", "-c", str(config)])
    assert result.exit_code == 1, result.output
    dead = f"{NOVA}@{FALLBACK}"
    assert f"agentkit: dead route: {dead}: ModelLifecycleLocked: " in result.stderr
    assert "(fix: the model is LEGACY or end-of-life" in result.stderr
    assert f"1 of 2 route(s) dead: {dead}" in result.stderr
    assert f"ok    {SONNET}@{PRIMARY}" in result.stdout
    # each route on its own: the fallback had its one attempt, the primary was not its fallback
    assert [c.region for c in bedrock_emulator.calls()] == [PRIMARY, FALLBACK]


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_canary_every_stops_after_runs(bedrock_emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, bedrock_emulator)
    result = CliRunner().invoke(
        app, ["canary", "--every", "0.01s", "--runs", "2", "-c", str(config), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert len(bedrock_emulator.calls()) == 4
    reports = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines
    assert [r["ok"] for r in reports] == [True, True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--once", "--every", "15m"], "--once and --every: choose one"),
        (["--every", "soon"], "use e.g. 15m"),
        (["--runs", "2"], "--runs needs --every"),
    ],
)
def test_canary_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["canary", "-c", str(write_config(tmp_path)), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]
    assert err[0].startswith("agentkit: error: ")


# --- agentkit routes check ------------------------------------------------------------------------


def lifecycle_file(tmp_path: Path, **models: dict[str, object]) -> Path:
    path = tmp_path / "lifecycle.json"
    path.write_text(json.dumps({"version": 1, "read": "2026-12-07", "models": models}))
    return path


def test_routes_check_passes_on_active_models(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["routes", "check", "--offline", "-c", str(write_config(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("OK  ") == 2


def test_routes_check_fails_for_a_route_past_end_of_life_in_the_shipped_data(
    tmp_path: Path,
) -> None:
    sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # EOL 2026-10-14 in the data
    config = write_config(tmp_path, None, (SONNET, PRIMARY), (sonnet_4, FALLBACK))
    result = CliRunner().invoke(app, ["routes", "check", "--offline", "-c", str(config), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [r["verdict"] for r in report["routes"]] == ["ok", "fail"]
    assert f"{sonnet_4}@{FALLBACK}: past end of life since 2026-10-14" in result.stderr


def test_routes_check_with_a_pinned_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    nova = "amazon.nova-pro-v1:0"
    sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    past = lifecycle_file(
        tmp_path,
        **{
            sonnet: {"status": "ACTIVE"},
            nova: {"status": "LEGACY", "legacy": "2019-06-01", "end_of_life": "2020-01-01"},
        },
    )
    result = CliRunner().invoke(
        app, ["routes", "check", "-c", str(config), "--lifecycle", str(past)]
    )
    assert result.exit_code == 1
    assert f"{NOVA}@{FALLBACK}: past end of life since 2020-01-01" in result.stderr
    legacy = lifecycle_file(
        tmp_path,
        **{
            sonnet: {"status": "ACTIVE"},
            nova: {"status": "LEGACY", "end_of_life": "2999-01-01"},
        },
    )
    result = CliRunner().invoke(
        app, ["routes", "check", "-c", str(config), "--lifecycle", str(legacy)]
    )
    assert result.exit_code == 0, result.output  # LEGACY warns, does not fail
    assert f"agentkit: warning: {NOVA}@{FALLBACK}: LEGACY" in result.stderr
    result = CliRunner().invoke(
        app,
        ["routes", "check", "-c", str(config), "--lifecycle", str(legacy), "--warn-days", "400000"],
    )
    assert result.exit_code == 1


def test_routes_check_bad_lifecycle_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "lifecycle.json"
    bad.write_text("[1, 2")
    with pytest.raises(SystemExit) as exit_:
        main(["routes", "check", "-c", str(write_config(tmp_path)), "--lifecycle", str(bad)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "not valid JSON" in err[0]


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_doctor_reports_lifecycle_per_route(bedrock_emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, bedrock_emulator)
    result = CliRunner().invoke(app, ["doctor", "-c", str(config), "--json", "--no-probe"])
    assert result.exit_code == 0, result.output
    assert [r["lifecycle"] for r in json.loads(result.stdout)["routes"]] == ["ACTIVE", "ACTIVE"]


def test_routes_check_reads_list_foundation_models_over_the_data_when_credentials_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live path, offline: botocore's Stubber answers ListFoundationModels per Region."""
    from datetime import UTC, datetime

    import boto3
    from botocore.stub import Stubber

    import agentkit.bedrock.clients
    import agentkit.bedrock.lifecycle
    import agentkit.bedrock.tier

    asked: list[str] = []
    stubbers: list[Stubber] = []

    def stubbed(region: str) -> object:
        asked.append(region)
        client = boto3.session.Session(
            aws_access_key_id="AKIATEST", aws_secret_access_key="test", region_name=region
        ).client("bedrock")
        stub = Stubber(client)
        lifecycle = {
            "status": "LEGACY",
            "legacyTime": datetime(2026, 1, 1, tzinfo=UTC),
            "endOfLifeTime": datetime(2026, 2, 1, tzinfo=UTC),
        }
        summary = {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/amazon.nova-pro-v1:0",
            "modelId": "amazon.nova-pro-v1:0",
            "modelLifecycle": lifecycle,
        }
        stub.add_response("list_foundation_models", {"modelSummaries": [summary]}, {})
        stub.activate()
        stubbers.append(stub)
        return client

    monkeypatch.setattr(agentkit.bedrock.tier, "credentials_possible", lambda: True)
    monkeypatch.setattr(agentkit.bedrock.clients, "credentials_found", lambda *_: True)
    monkeypatch.setattr(agentkit.bedrock.lifecycle, "control_plane_client", stubbed)
    config = write_config(tmp_path)
    result = CliRunner().invoke(app, ["routes", "check", "-c", str(config), "--json"])
    assert asked == [PRIMARY, FALLBACK]
    for stub in stubbers:
        stub.assert_no_pending_responses()
    assert result.exit_code == 1  # the live answer says the fallback's model is past its EOL
    report = json.loads(result.stdout)
    assert report["lifecycle"].startswith("ListFoundationModels (modelLifecycle) over ")
    assert [r["status"] for r in report["routes"]] == ["ACTIVE", "EOL"]
    asked.clear()
    result = CliRunner().invoke(app, ["routes", "check", "--offline", "-c", str(config)])
    assert (result.exit_code, asked) == (0, [])
