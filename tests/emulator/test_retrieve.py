"""Knowledge Base ``Retrieve`` (bedrock-agent-runtime): wire shape, scoring, faults, control."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from agentkit.emulator import Emulator
from agentkit.emulator.cli import _load_knowledge
from agentkit.emulator.faults import parse_plan
from agentkit.emulator.knowledge import KnowledgeCatalog, overlap_score, terms
from agentkit.errors import InputError

from . import shapes
from .conftest import MODEL, USER, raw_post
from .test_control_and_protocols import control

KB = "KBDOCS0001"
OTHER = "KBRUNBOOK1"
QUERY = "How does Aurora Global Database fail over?"  # terms: aurora global database fail over
DOCS: dict[str, Any] = {
    "us-east-1": {
        KB: [
            {
                "id": "aurora",
                "uri": "s3://dr-docs/aurora.md",
                "text": "Aurora Global Database replicates to a secondary Region with typical lag "
                "under one second.",
                "metadata": {"service": "aurora"},
                "stale": {"text": "Aurora read replicas (2019 guidance).", "metadata": {"y": 2019}},
            },
            {
                "id": "dynamodb",
                "uri": "https://docs.example.com/dynamodb",
                "text": "DynamoDB global tables replicate writes between Regions.",
            },
            {"id": "route53", "uri": "runbook-7", "text": "Route 53 ARC routing controls."},
        ],
        OTHER: [{"id": "r1", "uri": "s3://runbooks/r1.md", "text": "Aurora failover runbook."}],
    },
    "us-west-2": {KB: [{"id": "aurora", "uri": "s3://dr-docs-west/aurora.md", "text": "Aurora"}]},
}
AGENT_MODEL = botocore.session.get_session().get_service_model("bedrock-agent-runtime")


def retrieve(emu: Emulator, region: str = "us-east-1", kb: str = KB, **extra: Any) -> Any:
    client = emu.agent_client(region)
    return client.retrieve(knowledgeBaseId=kb, retrievalQuery={"text": QUERY}, **extra)


@pytest.fixture
def kb_emu(emu: Emulator) -> Emulator:
    emu.set_knowledge(DOCS)
    return emu


def test_boto3_agent_runtime_client_retrieves_scored_cited_results(kb_emu: Emulator) -> None:
    answer = retrieve(kb_emu)
    results = answer["retrievalResults"]
    assert [r["score"] for r in results] == [0.6, 0.2, 0.0]  # 3 of 5 terms, 1 of 5, none
    top = results[0]
    assert top["content"] == {"type": "TEXT", "text": DOCS["us-east-1"][KB][0]["text"]}
    assert top["location"] == {"type": "S3", "s3Location": {"uri": "s3://dr-docs/aurora.md"}}
    assert top["metadata"]["x-amz-bedrock-kb-source-uri"] == "s3://dr-docs/aurora.md"
    assert top["metadata"]["service"] == "aurora"
    assert results[1]["location"]["webLocation"] == {"url": "https://docs.example.com/dynamodb"}
    assert results[2]["location"] == {
        "type": "CUSTOM",
        "customDocumentLocation": {"id": "runbook-7"},
    }
    config = {"vectorSearchConfiguration": {"numberOfResults": 1}}
    assert len(retrieve(kb_emu, retrievalConfiguration=config)["retrievalResults"]) == 1
    call = kb_emu.calls()[-1]
    assert (call.operation, call.knowledge_base, call.model, call.status) == (
        "Retrieve",
        KB,
        "",
        200,
    )


def test_the_raw_body_matches_botocores_retrieve_output_shape(kb_emu: Emulator) -> None:
    status, headers, raw = raw_post(
        kb_emu.endpoints["us-east-1"],
        f"/knowledgebases/{KB}/retrieve",
        {"retrievalQuery": {"text": QUERY}},
    )
    assert (status, headers["content-type"]) == (200, "application/json")
    shape = AGENT_MODEL.operation_model("Retrieve").output_shape
    assert shapes.check(json.loads(raw), shape) == []


def test_scoring_is_token_overlap_without_stop_words_or_plural_s() -> None:
    assert terms("How does the Replicates work?") == frozenset({"replicate", "work"})
    assert overlap_score(terms("aurora replicates"), "Aurora replicate") == 1.0
    assert overlap_score(terms("the and of"), "anything") == 0.0  # no terms: no relevance


def test_knowledge_bases_are_regional(kb_emu: Emulator) -> None:
    client = kb_emu.agent_client("us-west-2")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=OTHER):
        client.retrieve(knowledgeBaseId=OTHER, retrievalQuery={"text": QUERY})
    west = retrieve(kb_emu, "us-west-2")["retrievalResults"]
    assert [r["location"]["s3Location"]["uri"] for r in west] == ["s3://dr-docs-west/aurora.md"]
    arn = f"arn:aws:bedrock:us-east-1:123456789012:knowledge-base/{KB}"
    assert len(retrieve(kb_emu, kb=arn)["retrievalResults"]) == 3


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (
            "/knowledgebases/not-an-id/retrieve",
            {"retrievalQuery": {"text": "x"}},
            "knowledgeBaseId",
        ),
        (f"/knowledgebases/{KB}/retrieve", {}, "'retrievalQuery'"),
        (
            f"/knowledgebases/{KB}/retrieve",
            {
                "retrievalQuery": {"text": "x"},
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 0}},
            },
            "numberOfResults",
        ),
        (f"/knowledgebases/{KB}/retrieve", {"retrievalQuery": {"text": "x" * 20_001}}, "length"),
    ],
)
def test_invalid_requests_are_validation_exceptions(
    kb_emu: Emulator, path: str, body: dict[str, Any], fragment: str
) -> None:
    status, headers, raw = raw_post(kb_emu.endpoints["us-east-1"], path, body)
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert fragment in json.loads(raw)["message"]


def test_faults_throttle_one_knowledge_base_and_leave_the_rest_alone(kb_emu: Emulator) -> None:
    kb_emu.set_faults(
        {
            "regions": {
                "us-east-1": {
                    "knowledge_bases": {"KBDOCS*": {"errors": [{"code": "ThrottlingException"}]}}
                }
            }
        }
    )
    client = kb_emu.agent_client("us-east-1")
    with pytest.raises(client.exceptions.ThrottlingException):
        retrieve(kb_emu)
    assert retrieve(kb_emu, kb=OTHER)["retrievalResults"]  # another Knowledge Base
    kb_emu.client("us-east-1").converse(modelId=MODEL, messages=USER)  # and the models


def test_region_wide_error_rules_and_agent_only_codes(kb_emu: Emulator) -> None:
    plan = {
        "regions": {
            "us-east-1": {
                "errors": [
                    {"code": "DependencyFailedException", "operations": ["Retrieve"], "first": 1}
                ]
            }
        }
    }
    kb_emu.set_faults(plan)
    client = kb_emu.agent_client("us-east-1")
    with pytest.raises(client.exceptions.DependencyFailedException) as caught:
        retrieve(kb_emu)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert retrieve(kb_emu)["retrievalResults"]  # only the first call
    with pytest.raises(ValueError, match=r"add operations: \[Retrieve\]"):
        parse_plan({"regions": {"us-east-1": {"errors": [{"code": "BadGatewayException"}]}}})


def test_down_region_refuses_retrieve_like_everything_else(kb_emu: Emulator) -> None:
    kb_emu.set_faults({"regions": {"us-east-1": {"down": True}}})
    with pytest.raises(EndpointConnectionError):
        retrieve(kb_emu)


def test_stale_and_low_score_faults(kb_emu: Emulator) -> None:
    kb_emu.set_faults(
        {"regions": {"us-east-1": {"knowledge_bases": {KB: {"stale": True, "score_scale": 0.5}}}}}
    )
    results = retrieve(kb_emu)["retrievalResults"]
    stale = next(r for r in results if r["location"].get("s3Location"))
    assert stale["content"]["text"] == "Aurora read replicas (2019 guidance)."
    assert stale["metadata"]["y"] == 2019
    assert [r["score"] for r in results] == [0.1, 0.1, 0.0]  # 1 of 5 terms each, halved


def test_knowledge_faults_carry_latency_and_reject_model_only_settings() -> None:
    from agentkit.emulator.faults import FaultState
    from agentkit.resilience.clock import FakeClock

    plan = parse_plan({"regions": {"us-east-1": {"knowledge_bases": {KB: {"latency_ms": 250}}}}})
    state = FaultState(plan, FakeClock())
    assert state.decide("us-east-1", KB, "Retrieve").latency_s == 0.25
    assert state.decide("us-east-1", MODEL, "Converse").latency_s == 0  # not a model override
    with pytest.raises(ValueError, match="do not apply to a knowledge base"):
        parse_plan({"regions": {"us-east-1": {"knowledge_bases": {KB: {"quota": {"tpm": 5}}}}}})


def test_control_api_puts_and_gets_the_corpus(emu: Emulator) -> None:
    status, answer = control(emu, "PUT", "/knowledge", json.dumps(DOCS))
    assert status == 200
    assert answer == {"knowledge_bases": {"us-east-1": {KB: 3, OTHER: 1}, "us-west-2": {KB: 1}}}
    assert control(emu, "GET", "/knowledge")[1]["us-west-2"][KB][0]["id"] == "aurora"
    status, answer = control(emu, "PUT", "/knowledge", "us-east-1: {short: []}")
    assert status == 400
    assert "10 letters or digits" in answer["message"]
    status, answer = control(emu, "PUT", "/knowledge", "eu-west-9: {}")
    assert status == 400
    assert "eu-west-9" in answer["message"]
    assert retrieve(emu)["retrievalResults"]  # the good corpus stays


def test_corpus_validation() -> None:
    doc = {"id": "a", "uri": "s3://b/a", "text": "x"}
    with pytest.raises(ValueError, match="unique"):
        KnowledgeCatalog.model_validate({"us-east-1": {KB: [doc, doc]}})
    with pytest.raises(ValueError, match="text"):
        KnowledgeCatalog.model_validate({"us-east-1": {KB: [{"id": "a", "uri": "u"}]}})


def test_cli_knowledge_file_must_name_emulated_regions(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(f"eu-west-1:\n  {KB}:\n    - {{id: a, uri: s3://b/a, text: x}}\n")
    with pytest.raises(InputError, match="eu-west-1 is not an emulated Region"):
        _load_knowledge(path, ["us-east-1"])
    corpus = _load_knowledge(path, ["eu-west-1"])
    assert corpus.documents("eu-west-1", KB) is not None
    path.write_text("us-east-1:\n  KB: []\n")
    with pytest.raises(InputError, match=r"kb.yaml"):
        _load_knowledge(path, ["us-east-1"])


def test_client_error_names_the_knowledge_base_and_region(kb_emu: Emulator) -> None:
    client = kb_emu.agent_client("us-east-1")
    with pytest.raises(ClientError, match="KBMISSING1 does not exist in us-east-1"):
        client.retrieve(knowledgeBaseId="KBMISSING1", retrievalQuery={"text": "x"})


def test_a_knowledge_base_fails_only_with_the_errors_retrieve_returns() -> None:
    import botocore.session
    from pydantic import ValidationError

    from agentkit.emulator.faults import FaultPlan
    from agentkit.emulator.wire_errors import RETRIEVE_ERRORS

    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")
    assert {e.name for e in model.operation_model("Retrieve").error_shapes} == RETRIEVE_ERRORS
    with pytest.raises(ValidationError, match="ServiceUnavailableException is not an error"):
        FaultPlan.model_validate(
            {
                "regions": {
                    "us-east-1": {
                        "knowledge_bases": {
                            "*": {"errors": [{"code": "ServiceUnavailableException"}]}
                        }
                    }
                }
            }
        )
    plan = {
        "regions": {
            "us-east-1": {
                "knowledge_bases": {
                    "*": {
                        "errors": [
                            {"code": "DependencyFailedException", "operations": ["Retrieve"]}
                        ]
                    }
                }
            }
        }
    }
    assert FaultPlan.model_validate(plan)
