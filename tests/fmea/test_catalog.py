"""Catalogue v2: it validates, it covers the issue's modes and kinds, the seed rows keep their
domain.md values, and every mode appears where its topology allows it and not where the topology
or a listed control rules it out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from agentkit.fmea.engine import score
from agentkit.fmea.model import (
    CATALOG_SCHEMA,
    CATALOGS,
    FailureMode,
    architecture_from,
    load_catalog,
)
from agentkit.yamlsource import YamlDocument

CATALOG = load_catalog()
V1 = load_catalog(version=1)


@pytest.mark.parametrize("version", sorted(CATALOGS))
def test_each_builtin_catalogue_validates_against_the_schema(version: int) -> None:
    schema = json.loads(CATALOG_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    errors = list(
        Draft202012Validator(schema).iter_errors(yaml.safe_load(CATALOGS[version].read_text()))
    )
    assert errors == []


def test_the_schema_refuses_a_mode_without_its_ratings() -> None:
    schema = json.loads(CATALOG_SCHEMA.read_text())
    bad = {"version": 2, "kinds": {"x": [{"id": "m", "class": "shared_fate"}]}}
    assert list(Draft202012Validator(schema).iter_errors(bad))


def test_size_and_coverage() -> None:
    modes = [m for ms in CATALOG.kinds.values() for m in ms]
    assert len(modes) >= 120
    assert len(CATALOG.kinds) >= 40
    for kind in (
        "step-functions",
        "opensearch-serverless",
        "opensearch",
        "secrets-manager",
        "kms",
        "sqs",
        "sns",
        "eventbridge",
        "cognito",
        "cloudfront",
        "agentcore-runtime",
        "agentcore-gateway",
        "agentcore-memory",
        "agentcore-identity",
        "bedrock-agent",
        "vector-store",
    ):
        assert kind in CATALOG.kinds
    ids = {(k, m.id) for k, ms in CATALOG.kinds.items() for m in ms}
    for wanted in (
        ("agent-orchestration", "direct-prompt-injection"),
        ("knowledge-base", "indirect-prompt-injection"),
        ("mcp-tool", "indirect-prompt-injection"),
        ("bedrock-model", "output-truncation"),
        ("agent-orchestration", "context-truncation"),
        ("bedrock-model", "quota-exhaustion"),
        ("bedrock-model", "upstream-timeout"),
        ("apigateway", "integration-timeout"),
        ("knowledge-base", "embedding-drift"),
        ("guardrail", "over-blocking"),
        ("mcp-tool", "non-idempotent-retry"),
        ("bedrock-model", "model-end-of-life"),
        ("agent-orchestration", "runaway-cost"),
        ("mcp-tool", "hallucinated-arguments"),
        ("agentcore-memory", "memory-loss"),
        ("session-store", "session-loss"),
        ("human-approval", "approval-timeout"),
        ("step-functions", "approval-timeout"),
    ):
        assert wanted in ids


def test_every_mode_has_a_function_a_justification_and_known_controls() -> None:
    assert set(CATALOG.functions) == set(CATALOG.kinds)
    for modes in [*CATALOG.kinds.values(), tuple(CATALOG.derived.values())]:
        for mode in modes:
            assert mode.why, mode.id
            for control in [*mode.lowers, *mode.ruled_out_by]:
                assert control in CATALOG.controls
            for control in mode.lowers:
                assert {r for r, _ in mode.lowering(control)} <= {"o", "d"}  # never S


# domain.md 2.3, transcribed: (kind, mode id) -> S/O/D. These rows keep the domain's values.
DOMAIN_ROWS = {
    ("rds", "instance-loss"): (8, 6, 3),
    ("rds", "failover-gap"): (5, 5, 2),
    ("rds", "region-loss"): (8, 3, 3),
    ("aurora-global", "lagged-commits"): (7, 2, 3),
    ("aurora-global", "failover-blocked"): (8, 3, 6),
    ("dynamodb", "hot-partition"): (6, 5, 3),
    ("dynamodb-global", "lww-overwrite"): (6, 4, 8),
    ("s3", "deletion-replicated"): (8, 4, 5),
    ("s3", "region-unavailable"): (7, 2, 3),
    ("lambda", "concurrency-exhaustion"): (6, 6, 3),
    ("apigateway", "account-throttling"): (6, 4, 3),
    ("alb", "all-targets-unhealthy"): (7, 4, 3),
    ("ecs", "scale-out-fails"): (7, 5, 4),
    ("eks", "scale-out-fails"): (7, 5, 4),
    ("elasticache", "node-loss"): (6, 5, 4),
    ("route53", "failover-wrong"): (7, 4, 6),
    ("bedrock-model", "single-region"): (8, 7, 3),
    ("bedrock-cris", "scp-blocks-destination"): (8, 3, 4),
    ("bedrock-cris", "global-residency"): (9, 3, 7),
    ("knowledge-base", "stale-retrieval"): (7, 6, 8),
    ("knowledge-base", "store-unavailable"): (7, 4, 3),
    ("mcp-tool", "timeouts-cascade"): (7, 6, 5),
    ("mcp-tool", "schema-drift"): (7, 5, 7),
    ("agent-orchestration", "runaway-recursion"): (6, 6, 4),
    ("agent-orchestration", "permission-drift"): (9, 3, 7),
    ("observability", "undetected-hallucination"): (7, 6, 9),
}


def test_the_seed_rows_keep_their_domain_values() -> None:
    marked = {(k, m.id): (m.s, m.o, m.d) for k, ms in CATALOG.kinds.items() for m in ms if m.source}
    assert marked == DOMAIN_ROWS
    assert (CATALOG.derived["residency"].s, CATALOG.derived["residency"].o) == (9, 4)


def test_proposed_defaults_are_not_presented_as_sourced() -> None:
    for modes in CATALOG.kinds.values():
        for mode in modes:
            if not mode.source:
                assert mode.why.startswith("Proposed default"), mode.id


# --- each mode appears where its topology allows it, and not where it is ruled out -----------

NEW_MODES = [
    (kind, mode)
    for kind, modes in CATALOG.kinds.items()
    for mode in modes
    if mode.id not in {m.id for m in V1.kinds.get(kind, ())}
]
CONDITIONED = [(k, m) for k, m in CATALOG.kinds.items() for m in m if m.applies or m.ruled_out_by]


class Spec:
    """A minimal architecture around one component ``c`` of the kind under test."""

    def __init__(self, kind: str) -> None:
        self.component: dict[str, Any] = {"id": "c", "kind": kind, "regions": ["us-east-1"]}
        self.regions = ["us-east-1"]
        self.helpers: list[dict[str, Any]] = []
        self.residency: list[str] = []

    def helper(self, kind: str, **extra: Any) -> None:
        self.helpers.append({"id": f"h{len(self.helpers)}", "kind": kind, **extra})

    def document(self) -> dict[str, Any]:
        return {
            "apiVersion": "agentkit/architecture/v2",
            "workload": {"name": "w", "residency": self.residency},
            "regions": self.regions,
            "components": [self.component, *self.helpers],
        }


def _set(spec: Spec, name: str, value: bool) -> None:
    c = spec.component
    if name.startswith("attr:"):
        c.pop(name[5:], None)
        if value:
            c[name[5:]] = "confidential" if name == "attr:data_classification" else True
        return
    if "=" in name:
        key, _, wanted = name.partition("=")
        typed: Any = {"true": True, "false": False}.get(wanted, wanted)
        if value:
            c[key] = typed
        elif typed is False:
            c[key] = True  # "x=false" is false when x is true
        else:
            c.pop(key, None)
        return
    _TOPOLOGY[name](spec, value)


TWO = ["us-east-1", "us-west-2"]


def _profile(spec: Spec, value: bool) -> None:
    if value:
        spec.component["profile"], spec.component["regions"] = (
            "us-gov.anthropic.m",
            ["us-gov-east-1"],
        )
        spec.regions = ["us-gov-east-1"]


def _fronting(spec: Spec, value: bool) -> None:
    if value:
        spec.helper("bedrock-model")
        spec.component["depends_on"] = [spec.helpers[-1]["id"]]


def _helper(kind: str, when: bool, **extra: Any) -> Any:
    return lambda spec, value: spec.helper(kind, **extra) if value == when else None


def _attr(key: str, true: Any, false: Any) -> Any:
    return lambda spec, value: spec.component.__setitem__(key, true if value else false)


def _workload(key: str, true: Any, false: Any) -> Any:
    return lambda spec, value: setattr(spec, key, true if value else false)


_TOPOLOGY: dict[str, Any] = {
    "single_region": _attr("regions", ["us-east-1"], TWO),
    "multi_region": _attr("regions", TWO, ["us-east-1"]),
    "workload_multi_region": _workload("regions", TWO, ["us-east-1"]),
    "multi_region_writers": _attr("writers", TWO, ["us-east-1"]),
    "multi_partition": _helper("s3", True, regions=["us-gov-west-1"]),
    "single_az": _attr("multi_az", False, True),
    "multi_az": _attr("multi_az", True, False),
    "residency": _workload("residency", ["us"], []),
    "has_dependents": _helper("lambda", True, depends_on=["c"]),
    "behind_upstream_timeout": _helper("apigateway", True, depends_on=["c"]),
    "fronts_model": _fronting,
    "side_effects": _attr("side_effects", True, False),
    "human_approval": _attr("human_approval", True, False),
    "untrusted_content": _attr("untrusted_content", True, False),
    "global_profile": _attr("profile", "global.anthropic.m", "us.anthropic.m"),
    "single_destination_profile": _profile,
    "has_orchestration": _helper("agent-orchestration", True),
    "no_observability": _helper("observability", False),
    "on_demand_models": _helper("bedrock-model", True),
}


def _apply(spec: Spec, condition: str, holds: bool) -> None:
    negated = condition.startswith("not:")
    _set(spec, condition.removeprefix("not:"), holds != negated)


def _rows_for(spec: Spec, mode: FailureMode) -> list[Any]:
    doc = YamlDocument(data=spec.document(), source="arch.yaml")
    sheet = score(architecture_from(doc, CATALOG), CATALOG)
    ids = {mode.id, "region-loss"} if mode.shared_cause == "region" else {mode.id}
    return [r for r in sheet.rows if "c" in r.affects and r.mode_id in ids]


def _satisfying(kind: str, mode: FailureMode, but_not: int | None = None) -> Spec:
    """Every condition holds, except the one at ``but_not``."""
    spec = Spec(kind)
    for index, condition in enumerate(mode.applies):
        _apply(spec, condition, index != but_not)
    return spec


@pytest.mark.parametrize(("kind", "mode"), CONDITIONED, ids=[f"{k}/{m.id}" for k, m in CONDITIONED])
def test_a_mode_appears_where_its_topology_allows_it(kind: str, mode: FailureMode) -> None:
    assert _rows_for(_satisfying(kind, mode), mode)


@pytest.mark.parametrize(("kind", "mode"), CONDITIONED, ids=[f"{k}/{m.id}" for k, m in CONDITIONED])
def test_a_mode_does_not_appear_where_it_is_ruled_out(kind: str, mode: FailureMode) -> None:
    if mode.applies:
        for index in range(len(mode.applies)):  # the topology rules it out
            assert not _rows_for(_satisfying(kind, mode, but_not=index), mode)
    if mode.ruled_out_by:
        spec = _satisfying(kind, mode)
        spec.component["mitigations"] = [mode.ruled_out_by[0]]  # a listed control rules it out
        assert not _rows_for(spec, mode)


def test_every_new_mode_has_a_condition_that_can_rule_it_out() -> None:
    assert [f"{k}/{m.id}" for k, m in NEW_MODES if not (m.applies or m.ruled_out_by)] == []


LOWERS = [(k, m, c) for k, ms in CATALOG.kinds.items() for m in ms for c in m.lowers]


@pytest.mark.parametrize(
    ("kind", "mode", "control"), LOWERS, ids=[f"{k}/{m.id}/{c}" for k, m, c in LOWERS]
)
def test_each_control_lowers_the_revised_rating_by_its_rule(
    kind: str, mode: FailureMode, control: str
) -> None:
    spec = _satisfying(kind, mode)
    (before,) = _rows_for(spec, mode)
    spec.component["mitigations"] = [control]
    (after,) = _rows_for(spec, mode)
    assert (after.severity, after.occurrence, after.detection) == (
        before.severity,
        before.occurrence,
        before.detection,
    )  # the initial columns do not move
    expected = {"o": before.revised_occurrence, "d": before.revised_detection}
    for rating, delta in mode.lowering(control):
        expected[rating] = max(1, expected[rating] + delta)
    assert (after.revised_occurrence, after.revised_detection) == (expected["o"], expected["d"])
    assert after.revised_severity == before.revised_severity
    assert (
        after.revised_rpn
        == after.revised_severity * after.revised_occurrence * after.revised_detection
    )
    assert control in after.controls


def test_a_user_catalogue_cannot_name_an_unknown_control(tmp_path: Path) -> None:
    from agentkit.errors import InputError

    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 2\nkinds:\n  mainframe:\n    - {id: m, class: shared_fate, dimension: tools,\n"
        "       hub_category: application, mode: Batch, effect: Late, cause: Volume,\n"
        "       prevention: Plan, detection: Alarms, actions: [Split], s: 5, o: 5, d: 5,\n"
        "       lowers: {telepathy: o-2}}\n"
    )
    with pytest.raises(InputError, match="unknown control 'telepathy'"):
        load_catalog(path, base=CATALOG)
