"""Model lifecycle per route (issue 20): the shipped data, a pinned file, ListFoundationModels."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from agentkit.bedrock.lifecycle import (
    DATA_PATH,
    STATUSES,
    LifecycleTable,
    ModelLifecycle,
    check_route,
    check_routes,
    describe,
    fetch_live,
    load_table,
)
from agentkit.config import Route
from agentkit.errors import InputError

SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
TODAY = date(2026, 12, 7)


def table_of(**entries: ModelLifecycle) -> LifecycleTable:
    return LifecycleTable({e.model_id: e for e in entries.values()}, "test")


def test_the_shipped_data_cites_a_source_for_every_date_and_names_the_default_models() -> None:
    doc = json.loads(DATA_PATH.read_text())
    assert doc["read"]
    for model_id, entry in doc["models"].items():
        assert entry["status"] in (*STATUSES, None), model_id
        dates = [entry[k] for k in ("legacy", "public_extended_access", "end_of_life")]
        if any(dates) or entry["status"] is not None:
            assert entry["sources"], f"{model_id}: a status or date without a source"
        for source in entry["sources"]:
            assert source["url"].startswith("https://"), model_id
            assert source["as_of"], model_id
        for day in dates:
            if day is not None:
                date.fromisoformat(day)
    table = load_table()
    for model in (SONNET_45, "us.amazon.nova-pro-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"):
        assert table.lookup(model) is not None, model


def test_profile_prefixes_are_stripped() -> None:
    table = load_table()
    entry = table.lookup("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert entry is not None
    assert entry.model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize(
    ("entry", "verdict", "status", "words"),
    [
        (ModelLifecycle("m", "ACTIVE"), "ok", "ACTIVE", "ACTIVE"),
        (
            ModelLifecycle("m", "LEGACY", end_of_life=date(2027, 6, 1)),
            "warn",
            "LEGACY",
            "locked out",
        ),
        (
            ModelLifecycle("m", "LEGACY", end_of_life=date(2026, 12, 20)),
            "fail",
            "LEGACY",
            "in 13 day(s)",
        ),
        (
            ModelLifecycle("m", "LEGACY", end_of_life=date(2026, 10, 14)),
            "fail",
            "EOL",
            "past end of life since 2026-10-14",
        ),
        (ModelLifecycle("m", "EOL"), "fail", "EOL", "date not known"),
        (ModelLifecycle("m", None), "warn", "UNKNOWN", "not known"),
        # a source that still says ACTIVE after the legacy date it gave: LEGACY
        (ModelLifecycle("m", "ACTIVE", legacy=date(2026, 11, 1)), "warn", "LEGACY", "LEGACY"),
    ],
)
def test_verdicts(entry: ModelLifecycle, verdict: str, status: str, words: str) -> None:
    result = check_route(Route(model="us.m", region="us-east-1"), table_of(m=entry), TODAY)
    assert (result.verdict, result.status) == (verdict, status)
    assert words in result.message


def test_warn_days_is_the_horizon() -> None:
    entry = ModelLifecycle("m", "LEGACY", end_of_life=date(2027, 1, 31))  # 55 days away
    route = Route(model="m", region="us-east-1")
    assert check_route(route, table_of(m=entry), TODAY, warn_days=30).verdict == "warn"
    assert check_route(route, table_of(m=entry), TODAY, warn_days=60).verdict == "fail"


def test_a_model_not_in_the_data_is_a_warning_naming_the_fix() -> None:
    result = check_route(Route(model="acme.new-v1:0", region="us-east-1"), table_of(), TODAY)
    assert result.verdict == "warn"
    assert "--lifecycle FILE" in result.message


def test_check_routes_and_doctor_cell() -> None:
    routes = [Route(model=SONNET_45, region="us-east-1"), Route(model=SONNET_4, region="us-west-2")]
    report = check_routes(routes, load_table(), TODAY)
    assert [r.verdict for r in report.routes] == ["ok", "fail"]
    assert [r.route for r in report.failed] == [routes[1].name]
    assert report.to_json()["ok"] is False
    assert describe(report.routes[1]) == "EOL since 2026-10-14"
    assert describe(report.routes[0]) == "ACTIVE"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON"),
        ('{"models": []}', "'models' mapping"),
        ('{"models": {"m": {"status": "RETIRED"}}}', "use one of ACTIVE, LEGACY, EOL"),
        ('{"models": {"m": {"status": "LEGACY", "end_of_life": "soon"}}}', "YYYY-MM-DD"),
    ],
)
def test_a_bad_lifecycle_file_is_one_line_naming_the_fix(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "lifecycle.json"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as caught:
        load_table(path)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


# --- ListFoundationModels, offline with botocore's Stubber ----------------------------------------


def _summary(model_id: str, lifecycle: dict[str, Any]) -> dict[str, Any]:
    return {
        "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": model_id,
        "providerName": "Anthropic",
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["INFERENCE_PROFILE"],
        "modelLifecycle": lifecycle,
    }


def test_refresh_from_list_foundation_models_with_stubber() -> None:
    client = boto3.session.Session(
        aws_access_key_id="AKIATEST", aws_secret_access_key="test", region_name="us-east-1"
    ).client("bedrock")
    legacy = {
        "status": "LEGACY",
        "startOfLifeTime": datetime(2025, 9, 29, tzinfo=UTC),
        "legacyTime": datetime(2026, 11, 1, tzinfo=UTC),
        "publicExtendedAccessTime": datetime(2027, 2, 1, tzinfo=UTC),
        "endOfLifeTime": datetime(2027, 5, 1, tzinfo=UTC),
    }
    response = {
        "modelSummaries": [
            _summary("anthropic.claude-sonnet-4-5-20250929-v1:0", legacy),
            _summary("amazon.nova-pro-v1:0", {"status": "ACTIVE"}),
        ]
    }
    with Stubber(client) as stub:
        stub.add_response("list_foundation_models", response, {})
        live = fetch_live(client, TODAY)
        stub.assert_no_pending_responses()
    sonnet = live["anthropic.claude-sonnet-4-5-20250929-v1:0"]
    assert sonnet.status == "LEGACY"
    assert (sonnet.legacy, sonnet.public_extended_access, sonnet.end_of_life) == (
        date(2026, 11, 1),
        date(2027, 2, 1),
        date(2027, 5, 1),
    )
    assert sonnet.read == "2026-12-07"
    assert "ListFoundationModels" in sonnet.source
    # live entries go over the file; a model the live answer lacks keeps the file's entry
    table = load_table().overlay(live)
    assert "ListFoundationModels" in table.origin
    result = check_route(Route(model=SONNET_45, region="us-east-1"), table, TODAY)
    assert (result.status, result.verdict, result.end_of_life) == ("LEGACY", "warn", "2027-05-01")
    assert check_route(Route(model=SONNET_4, region="us-east-1"), table, TODAY).status == "EOL"
