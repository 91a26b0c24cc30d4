"""``agentkit fmea --from-terraform``: the seed 003 pilot light, from the JSON of a plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import InputError
from agentkit.fmea.model import load_catalog
from agentkit.fmea.run import analyse
from agentkit.fmea.terraform import architecture_from_plan

PLAN = Path(__file__).resolve().parents[2] / "examples" / "terraform" / "pilot-light.plan.json"
CATALOG = load_catalog()


def components() -> dict[str, dict[str, Any]]:
    architecture, _ = architecture_from_plan(PLAN, CATALOG)
    return {c["id"]: c for c in architecture.components}


def test_the_fixture_is_a_plan_in_terraform_show_json_format() -> None:
    plan = json.loads(PLAN.read_text())
    assert plan["format_version"].startswith("1.")
    assert {"planned_values", "resource_changes", "configuration", "variables"} <= plan.keys()
    types = {r["type"] for r in plan["resource_changes"]}
    for wanted in (
        "aws_rds_global_cluster",
        "aws_rds_cluster",
        "aws_dynamodb_table",
        "aws_s3_bucket_replication_configuration",
        "aws_lambda_function",
        "aws_lb",
        "aws_route53_health_check",
        "aws_bedrockagent_agent",
        "aws_bedrockagent_knowledge_base",
    ):
        assert wanted in types


def test_the_pilot_light_becomes_an_architecture() -> None:
    found = components()
    db = found["aws_rds_global_cluster.api_db_global"]
    assert (db["kind"], db["regions"], db["writers"]) == (
        "aurora-global",
        ["us-east-1", "us-west-2"],
        ["us-east-1"],
    )
    assert found["aws_rds_cluster.api_db"]["multi_az"] is True  # two instances
    assert found["aws_rds_cluster.api_db_failover"]["regions"] == ["us-west-2"]  # aws.failover
    table = found["aws_dynamodb_table.sessions"]
    assert (table["kind"], table["regions"]) == ("dynamodb-global", ["us-east-1", "us-west-2"])
    bucket = found["aws_s3_bucket.uploads"]
    assert bucket["replicas"] == ["us-west-2"]
    assert {"replication", "versioning_object_lock"} <= set(bucket["mitigations"])
    primary = found["primary.aws_lambda_function.api"]
    assert set(primary["mitigations"]) == {"reserved_concurrency", "alarms"}
    assert primary["depends_on"] == ["aws_dynamodb_table.sessions", "aws_s3_bucket.uploads"]
    assert found["failover.aws_lambda_function.api"]["regions"] == ["us-west-2"]
    assert found["aws_bedrockagent_agent.assistant"]["profile"].startswith("us.")
    assert found["aws_bedrockagent_knowledge_base.docs"]["depends_on"] == [
        "aws_opensearchserverless_collection.kb"
    ]
    assert found["aws_route53_health_check.primary"]["kind"] == "route53"


def test_the_plan_produces_a_worksheet_and_lists_what_it_does_not_model() -> None:
    report = analyse(terraform_plan=PLAN, formats=("json", "md")).report
    assert report["terraform"]["unknown_resources"] == [
        {"address": "aws_ssm_parameter.failover_flag", "type": "aws_ssm_parameter"}
    ]
    modes = {r["mode_id"] for r in report["rows"]}
    assert {"pilot-light-drift", "failover-blocked", "replication-lag", "region-loss"} <= modes
    assert "lww-overwrite" not in modes  # one writer Region: active-passive
    assert report["workload"]["mitigations"] == ["fis_experiment"]


def test_the_cli_reads_a_plan(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentkit",
            "fmea",
            "--from-terraform",
            str(PLAN),
            "--out",
            str(tmp_path / "out"),
            "--no-model",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode in (0, 3), result.stderr
    assert "1 Terraform resource(s) not modelled: aws_ssm_parameter" in result.stderr
    assert (tmp_path / "out" / "fmea.md").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{]", "invalid JSON"),
        ('{"format_version": "1.2"}', "not the JSON of a Terraform plan"),
        ('{"planned_values": {"root_module": {"resources": []}}}', "no resource agentkit models"),
    ],
)
def test_a_bad_plan_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        architecture_from_plan(path, CATALOG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentkit",
            "fmea",
            "--from-terraform",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--no-model",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_resource_region_wins_over_its_provider(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_sqs_queue.q",
                        "mode": "managed",
                        "type": "aws_sqs_queue",
                        "name": "q",
                        "values": {"region": "eu-west-1", "redrive_policy": "{}"},
                    },
                    {
                        "address": "aws_sns_topic.t",
                        "mode": "managed",
                        "type": "aws_sns_topic",
                        "name": "t",
                        "values": {},
                    },
                ]
            }
        },
        "configuration": {
            "provider_config": {
                "aws": {
                    "name": "aws",
                    "expressions": {"region": {"constant_value": "eu-central-1"}},
                }
            },
            "root_module": {
                "resources": [{"address": "aws_sns_topic.t", "provider_config_key": "aws"}]
            },
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    architecture, unknown = architecture_from_plan(path, CATALOG)
    found = {c["id"]: c for c in architecture.components}
    assert found["aws_sqs_queue.q"]["regions"] == ["eu-west-1"]
    assert found["aws_sqs_queue.q"]["mitigations"] == ["dlq"]
    assert found["aws_sns_topic.t"]["regions"] == ["eu-central-1"]
    assert unknown == []


def test_an_architecture_and_a_plan_together_are_refused() -> None:
    with pytest.raises(InputError, match="one of them"):
        analyse(PLAN, terraform_plan=PLAN)
