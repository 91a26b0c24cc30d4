"""Contract loading, and the semver rules enforced against the lock."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from agentkit.errors import ConfigError, ToolVersionMismatch
from agentkit.tools.contracts import (
    LOCK_NAME,
    check_against_lock,
    compatibility_problems,
    load_contracts,
    lock_entry,
    read_lock,
    verify,
)

from .conftest import REQUEST, RESPONSE, write_tool


def publish(root: Path) -> None:
    contracts = load_contracts(root)
    (root / LOCK_NAME).write_text(json.dumps({c.key: lock_entry(c) for c in contracts.values()}))


def test_loads_contracts_and_builds_tool_specs(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.2.0")
    (contract,) = load_contracts(tmp_path).values()
    assert (contract.key, contract.major) == ("advisor@1", 1)
    assert contract.tool_spec() == {
        "name": "advisor",
        "description": "advisor tool",
        "inputSchema": {"json": REQUEST},
    }


def test_unchanged_published_contract_passes(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    publish(tmp_path)
    verify(load_contracts(tmp_path), read_lock(tmp_path))


def test_minor_bump_with_an_optional_property_is_compatible(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    publish(tmp_path)
    request = copy.deepcopy(REQUEST)
    request["properties"]["tier"] = {"type": "integer"}
    write_tool(tmp_path, "advisor", "1.1.0", request=request)
    verify(load_contracts(tmp_path), read_lock(tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: (
                r["required"].append("tier") or r["properties"].update(tier={"type": "integer"})
            ),
            "required changed",
        ),
        (
            lambda r: r["properties"].pop("region") and r["required"].remove("region"),
            "region: removed",
        ),
        (lambda r: r["properties"]["rto_minutes"].update(type="string"), "type changed"),
        (lambda r: r.update(additionalProperties=True), "additionalProperties"),
    ],
    ids=["new-required", "removed", "retyped", "loosened"],
)
def test_incompatible_minor_change_is_refused_at_load(
    tmp_path: Path, change: object, message: str
) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    publish(tmp_path)
    request = copy.deepcopy(REQUEST)
    change(request)  # type: ignore[operator]
    write_tool(tmp_path, "advisor", "1.1.0", request=request)
    with pytest.raises(ToolVersionMismatch, match=message):
        verify(load_contracts(tmp_path), read_lock(tmp_path))


def test_change_without_bump_and_schema_change_in_a_patch_are_refused(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    publish(tmp_path)
    response = copy.deepcopy(RESPONSE)
    response["properties"]["note"] = {"type": "string"}
    write_tool(tmp_path, "advisor", "1.0.0", response=response)
    assert check_against_lock(
        next(iter(load_contracts(tmp_path).values())), read_lock(tmp_path)
    ) == ["advisor@1: schemas changed without a version bump"]
    write_tool(tmp_path, "advisor", "1.0.1", response=response)
    with pytest.raises(ToolVersionMismatch, match="patch release must not change"):
        verify(load_contracts(tmp_path), read_lock(tmp_path))


def test_unpublished_contract_must_be_locked(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0")
    with pytest.raises(ToolVersionMismatch, match="agentkit tools lock"):
        verify(load_contracts(tmp_path), {})


def test_a_request_enum_may_gain_values_but_not_lose_them() -> None:
    old = {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}}}
    wider = {"type": "object", "properties": {"kind": {"enum": ["a", "b", "c"]}}}
    assert compatibility_problems(old, wider, widen_enums=True) == []
    # A response that may return a value old clients never saw is a breaking change.
    assert compatibility_problems(old, wider) != []
    narrower = {"type": "object", "properties": {"kind": {"enum": ["a"]}}}
    assert compatibility_problems(old, narrower, widen_enums=True) != []


def test_cosmetic_changes_are_compatible() -> None:
    new = copy.deepcopy(REQUEST)
    new["properties"]["region"]["description"] = "the primary Region"
    assert compatibility_problems(REQUEST, new) == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: (f / "request.schema.json").write_text("{nope"), "invalid JSON"),
        (
            lambda f: (f / "response.schema.json").write_text('{"type": "frobnicate"}'),
            "not a valid JSON Schema",
        ),
        (
            lambda f: (f / "manifest.yaml").write_text(
                "name: advisor\nversion: 2.0.0\ndescription: x\nside_effect: read_only\n"
            ),
            "does not belong in v1/",
        ),
        (
            lambda f: (f / "manifest.yaml").write_text(
                "name: other\nversion: 1.0.0\ndescription: x\nside_effect: read_only\n"
            ),
            "must match its folder",
        ),
        (
            lambda f: (f / "manifest.yaml").write_text(
                "name: advisor\nversion: one\ndescription: x\nside_effect: read_only\n"
            ),
            "manifest.yaml:2: version",
        ),
    ],
)
def test_broken_contracts_are_one_line_config_errors(
    tmp_path: Path, mutate: object, message: str
) -> None:
    folder = write_tool(tmp_path, "advisor", "1.0.0")
    mutate(folder)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        load_contracts(tmp_path)


def test_fallback_must_share_the_response_schema(tmp_path: Path) -> None:
    write_tool(tmp_path, "advisor", "1.0.0", fallback="backup")
    write_tool(tmp_path, "backup", "1.0.0", response={"type": "object"})
    with pytest.raises(ConfigError, match="same response schema"):
        load_contracts(tmp_path)
