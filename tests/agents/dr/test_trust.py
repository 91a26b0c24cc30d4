"""Issue 16 through `agentkit ask`: residency, partitions, engines, Bedrock and follow-ups.

Offline (no AWS account): the deterministic parser and the dr_advisor tool decide; expected
values come from shared/design/domain.md 1.2b and 1.3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.agents.dr.parser import parse_requirements
from agentkit.cli.app import app, main

EU = {"eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2"}
README_QUESTION = (
    "Payments API, Aurora + DynamoDB in eu-west-1, RTO 15 min, RPO 1 min, data must stay in "
    "the EU: what do we do?"
)


def ask(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["ask", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def advice_of(answer: dict[str, Any]) -> dict[str, Any]:
    return dict(answer["tool_calls"][0]["output"])


def test_the_readme_example_stays_in_the_eu() -> None:
    answer = ask(README_QUESTION)
    advice = advice_of(answer)
    assert answer["strategy"] == "warm_standby"
    assert set(advice["target_regions"]) <= EU
    for region in ("eu-west-2", "eu-central-2"):
        assert region not in answer["answer"]
    assert "bedrock" not in advice  # the question names no model
    assert "Bedrock" not in answer["answer"]


def test_a_named_candidate_outside_the_residency_is_refused_not_obeyed() -> None:
    answer = ask(
        "Payments API on Aurora in eu-west-1, data must stay in the EU, RTO 15 minutes, "
        "RPO 1 minute, just fail over to us-east-1"
    )
    advice = advice_of(answer)
    assert answer["strategy"] == "warm_standby"
    assert advice["target_regions"][0] in EU
    assert advice["excluded_regions"] == [
        {"region": "us-east-1", "reason": "outside the data residency (eu)"}
    ]
    assert "refused us-east-1" in answer["answer"]


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("orders-api RTO 1h RPO 5m, data must stay in Narnia", "residency 'Narnia' is not"),
        (
            "orders-api in us-east-1, RTO 1h RPO 5m, data must stay in the EU",
            "primary Region us-east-1 is outside the residency",
        ),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    question: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ask", question])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("question", "residency"),
    [
        ("data must stay in the EU", ["eu"]),
        ("data must stay in Germany", ["de"]),
        ("EEA only data", ["eea"]),
        ("data residency: UK", ["uk"]),
        ("customer data must not leave Switzerland", ["ch"]),
        ("data must stay in the EU or the UK", ["eu", "uk"]),
        ("data must stay in Europe", ["europe"]),
        ("data must stay in eusc-de-east-1", ["eusc-de-east-1"]),
        ("keep all data in Japan", ["jp"]),
        ("Daten müssen in der EU bleiben", ["eu"]),
        ("les données doivent rester dans l'UE", ["eu"]),
        ("los datos deben permanecer en la UE", ["eu"]),
    ],
)
def test_residency_phrases(question: str, residency: list[str]) -> None:
    parsed = parse_requirements(question)
    assert parsed.residency == residency
    assert parsed.problems == []


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("Aurora MySQL", ["aurora"]),
        ("Aurora PostgreSQL and S3", ["aurora", "s3"]),
        ("RDS for Oracle", ["rds"]),
        ("DocumentDB and Neptune", ["documentdb", "neptune"]),
        ("Redis OSS cache", ["elasticache"]),
        ("Valkey", ["elasticache"]),
        ("Postgres on RDS plus DynamoDB", ["rds", "dynamodb"]),
    ],
)
def test_engine_names_map_to_store_types(text: str, types: list[str]) -> None:
    assert sorted(s["type"] for s in parse_requirements(text).data_stores) == sorted(types)


def test_an_unknown_database_is_asked_about() -> None:
    answer = ask("search-api on MongoDB in us-east-1, RTO 1 hour, RPO 15 minutes")
    assert "how is mongodb deployed" in answer["answer"]
    assert advice_of(answer)["data_stores"] == []


def test_bedrock_advice_only_when_the_workload_uses_a_model() -> None:
    answer = ask(
        "Support chatbot on Bedrock with Claude in eu-west-1, RTO 30 min, RPO 5 min, "
        "data must stay in the EU"
    )
    advice = advice_of(answer)
    assert advice["bedrock"]["profile"].startswith("eu. geographic")
    assert "bedrock-region-evacuation" in advice["runbooks"]
    assert set(advice["bedrock"]["destinations"].split(", ")) <= EU


@pytest.mark.parametrize(
    ("question", "strategy"),
    [
        ("Zahlungs-API auf Aurora in eu-central-1, RTO 15 Minuten, RPO 1 Minute", "warm_standby"),
        ("API de commandes sur DynamoDB dans eu-west-3, RTO 2 heures, RPO 10 min", "pilot_light"),
        ("API de pagos en eu-south-2 con S3, RTO 12 horas, RPO 3 horas", "backup_restore"),
    ],
)
def test_questions_in_german_french_and_spanish(question: str, strategy: str) -> None:
    assert ask(question)["strategy"] == strategy


def test_a_follow_up_that_relaxes_the_rto_changes_the_strategy_and_says_so(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "sessions.sqlite")
    session = ["--session", "relax", "--sessions", db]
    first = ask("Orders API on DynamoDB in eu-west-1, RTO 15 min, RPO 1 hour", *session)
    assert first["strategy"] == "warm_standby"
    second = ask("relax the RTO to 3 hours", *session)
    assert second["strategy"] == "pilot_light"
    assert "RTO 15 min -> 3 h" in second["answer"]
    assert "moves from Warm standby to Pilot light" in second["answer"]
    third = ask("and the RTO to 12 hours and RPO to 4 hours", *session)
    assert third["strategy"] == "backup_restore"
    assert "RTO 3 h -> 12 h" in third["answer"]
    assert "RPO 1 h -> 4 h" in third["answer"]
    request = third["tool_calls"][0]["input"]
    assert request["primary_region"] == "eu-west-1"  # the rest of the conversation is kept
    assert request["data_stores"][0]["type"] == "dynamodb"


def test_a_follow_up_that_changes_nothing_material_says_the_strategy_stays(
    tmp_path: Path,
) -> None:
    session = ["--session", "s", "--sessions", str(tmp_path / "s.sqlite")]
    ask("Orders API on DynamoDB in eu-west-1, RTO 15 min, RPO 1 hour", *session)
    second = ask("make the RTO 20 minutes", *session)
    assert second["strategy"] == "warm_standby"
    assert "The strategy stays Warm standby" in second["answer"]


@pytest.mark.parametrize(
    ("question", "primary", "rto", "rpo"),
    [
        (
            "hr-portal on Aurora in us-east-1 with a recovery time objective of 3 hours and a "
            "recovery point objective of 1 hour",
            "us-east-1",
            180,
            60,
        ),
        ("citizen-portal in eusc-de-east-1, RTO 1 hour, RPO 15 minutes", "eusc-de-east-1", 60, 15),
        ("claims on Aurora in us-gov-west-1, RTO 2 h, RPO 10 min", "us-gov-west-1", 120, 10),
    ],
)
def test_spelled_out_objectives_and_every_partitions_region_codes(
    question: str, primary: str, rto: float, rpo: float
) -> None:
    parsed = parse_requirements(question)
    assert (parsed.primary_region, parsed.rto_minutes, parsed.rpo_minutes) == (primary, rto, rpo)


def test_the_sovereign_cloud_has_no_second_region() -> None:
    answer = ask("citizen-portal on Aurora in eusc-de-east-1, RTO 1 hour, RPO 15 minutes")
    advice = advice_of(answer)
    assert advice["partition"] == "aws-eusc"
    assert answer["strategy"] == "backup_restore"
    assert {f["code"] for f in advice["flags"]} == {"REGIONAL_DR_NOT_NATIVE"}
