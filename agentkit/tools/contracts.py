"""Versioned tool contracts: ``tools/<name>/v<major>/`` holds ``manifest.yaml``,
``request.schema.json`` and ``response.schema.json`` (JSON Schema draft 2020-12).

``tools/contracts.lock.json`` records the published version and schemas of each tool's major
version. A change is accepted only with a version bump that matches it: a patch keeps both
schemas identical, a minor may only add optional properties (old callers and old readers keep
working), and anything else needs a new major directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field

from agentkit.errors import ConfigError, ToolVersionMismatch
from agentkit.tools.bulkhead import BulkheadPolicy
from agentkit.yamlsource import parse_model, read_json, read_yaml

LOCK_NAME = "contracts.lock.json"
SideEffect = Literal["read_only", "idempotent", "mutating"]
SIDE_EFFECTS: tuple[SideEffect, ...] = ("read_only", "idempotent", "mutating")
IDEMPOTENCY_KEY = "idempotency_key"  # the request property a mutating tool is called with
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
    version: str = Field(pattern=_SEMVER.pattern)
    description: str = Field(min_length=1)
    # read_only: changes nothing; idempotent: a repeat has no further effect; mutating: each
    # execution changes something, so it needs an idempotency key and never runs twice.
    side_effect: SideEffect
    timeout_s: float = Field(default=10.0, gt=0)
    fallback: str | None = None  # another tool with the same response schema
    max_concurrent: int = Field(default=BulkheadPolicy.max_concurrent, ge=1)  # its bulkhead
    max_queue: int = Field(default=BulkheadPolicy.max_queue, ge=0)


@dataclass(frozen=True)
class ToolContract:
    name: str
    version: str
    description: str
    request_schema: dict[str, Any]
    response_schema: dict[str, Any]
    side_effect: SideEffect = "read_only"
    timeout_s: float = 10.0
    fallback: str | None = None
    bulkhead: BulkheadPolicy = field(default_factory=BulkheadPolicy)
    path: Path = field(default=Path("."), compare=False)

    @property
    def major(self) -> int:
        return semver(self.version)[0]

    @property
    def key(self) -> str:
        return f"{self.name}@{self.major}"

    @property
    def mutating(self) -> bool:
        """Each execution changes something: a result is stored and never re-executed, no
        hedge, and no fallback once the call may have started."""
        return self.side_effect == "mutating"

    @property
    def digest(self) -> str:
        body = json.dumps([self.request_schema, self.response_schema], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()

    def tool_spec(self) -> dict[str, Any]:
        """The Converse ``toolSpec`` a model sees."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": {"json": self.request_schema},
        }


def semver(version: str) -> tuple[int, int, int]:
    match = _SEMVER.match(version)
    if match is None:
        raise ConfigError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def load_contract(directory: Path) -> ToolContract:
    document = read_yaml(directory / "manifest.yaml", ConfigError)
    if isinstance(document.data, dict) and "side_effect" not in document.data:
        raise ConfigError(
            f"{directory}/manifest.yaml: side_effect is missing; declare what a call changes: "
            f"side_effect: {' | '.join(SIDE_EFFECTS)}"
        )
    manifest = parse_model(Manifest, document, ConfigError)
    if manifest.name != directory.parent.name:
        raise ConfigError(
            f"{directory}/manifest.yaml: name {manifest.name!r} must match its folder"
        )
    if f"v{semver(manifest.version)[0]}" != directory.name:
        raise ConfigError(
            f"{directory}/manifest.yaml: version {manifest.version} "
            f"does not belong in {directory.name}/"
        )
    request = _schema(directory / "request.schema.json")
    if manifest.side_effect == "mutating":
        _check_idempotency_key(directory, request)
    return ToolContract(
        name=manifest.name,
        version=manifest.version,
        description=manifest.description,
        request_schema=request,
        response_schema=_schema(directory / "response.schema.json"),
        side_effect=manifest.side_effect,
        timeout_s=manifest.timeout_s,
        fallback=manifest.fallback,
        bulkhead=BulkheadPolicy(manifest.max_concurrent, manifest.max_queue),
        path=directory,
    )


def _check_idempotency_key(directory: Path, request: dict[str, Any]) -> None:
    """A mutating tool's request must require a non-empty string ``idempotency_key``."""
    prop = request.get("properties", {}).get(IDEMPOTENCY_KEY)
    if (
        not isinstance(prop, dict)
        or prop.get("type") != "string"
        or not prop.get("minLength")
        or IDEMPOTENCY_KEY not in request.get("required", [])
    ):
        raise ConfigError(
            f"{directory}/request.schema.json: a mutating tool must require "
            f'"{IDEMPOTENCY_KEY}" (type string, minLength 1) so a repeat is never executed twice'
        )


def _schema(path: Path) -> dict[str, Any]:
    schema = read_json(path, ConfigError)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"{path}: not a valid JSON Schema: {exc.message}") from None
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ConfigError(f"{path}: a tool schema must describe an object")
    return schema


def load_contracts(root: Path) -> dict[str, ToolContract]:
    """Every contract under ``root``, keyed ``name@major``."""
    contracts: dict[str, ToolContract] = {}
    for manifest in sorted(root.glob("*/v*/manifest.yaml")):
        contract = load_contract(manifest.parent)
        contracts[contract.key] = contract
    for contract in contracts.values():
        _check_fallback(contract, contracts)
    return contracts


def _check_fallback(contract: ToolContract, contracts: dict[str, ToolContract]) -> None:
    if contract.fallback is None:
        return
    other = next((c for c in contracts.values() if c.name == contract.fallback), None)
    if other is None:
        raise ConfigError(
            f"{contract.path}/manifest.yaml: fallback tool {contract.fallback!r} not found"
        )
    if other.response_schema != contract.response_schema:
        raise ConfigError(
            f"{contract.path}/manifest.yaml: fallback {other.key} "
            "must return the same response schema"
        )


# --- compatibility and the lock ----------------------------------------------------------------


def compatibility_problems(
    old: Any, new: Any, where: str = "$", widen_enums: bool = False
) -> list[str]:
    """Why ``new`` is not a backward-compatible extension of ``old`` (empty when it is).

    Allowed: new optional properties of an object, and changes of ``description``/``title``/
    ``examples``; with ``widen_enums`` (a request: it must still accept all it accepted), new
    values added to an ``enum``. Anything else (removed or retyped properties, new required
    ones, tightened or loosened constraints) is a breaking change.
    """
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else [f"{where}: changed from {old!r} to {new!r}"]
    problems: list[str] = []
    cosmetic = {"description", "title", "examples", "$comment"}
    for key in sorted((old.keys() | new.keys()) - cosmetic - {"properties", "required"}):
        if key in ("$defs", "items", "additionalProperties") and key in old and key in new:
            problems += _nested(old[key], new[key], f"{where}.{key}", key == "$defs", widen_enums)
        elif key == "enum" and widen_enums and _widened(old.get(key), new.get(key)):
            continue
        elif old.get(key) != new.get(key):
            problems.append(f"{where}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    if set(new.get("required", [])) != set(old.get("required", [])):
        problems.append(
            f"{where}: required changed from {old.get('required', [])} to {new.get('required', [])}"
        )
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in sorted(old_props):
        if name not in new_props:
            problems.append(f"{where}.{name}: removed")
        else:
            problems += compatibility_problems(
                old_props[name], new_props[name], f"{where}.{name}", widen_enums
            )
    return problems


def _widened(old: Any, new: Any) -> bool:
    """Whether the enum ``new`` keeps every value of ``old`` (and may add some)."""
    return isinstance(old, list) and isinstance(new, list) and all(v in new for v in old)


def _nested(old: Any, new: Any, where: str, keyed: bool, widen_enums: bool) -> list[str]:
    if not keyed:
        return compatibility_problems(old, new, where, widen_enums)
    problems = [f"{where}.{k}: removed" for k in sorted(old) if k not in new]
    for key in sorted(set(old) & set(new)):
        problems += compatibility_problems(old[key], new[key], f"{where}.{key}", widen_enums)
    return problems


def read_lock(root: Path) -> dict[str, Any]:
    path = root / LOCK_NAME
    return dict(read_json(path, ConfigError)) if path.exists() else {}


def lock_entry(contract: ToolContract) -> dict[str, Any]:
    return {
        "version": contract.version,
        "sha256": contract.digest,
        "request": contract.request_schema,
        "response": contract.response_schema,
    }


def check_against_lock(contract: ToolContract, lock: dict[str, Any]) -> list[str]:
    """Problems with ``contract`` compared with what was published (empty when acceptable)."""
    entry = lock.get(contract.key)
    if entry is None:
        return [f"{contract.key}: not in {LOCK_NAME}; run `agentkit tools lock` to publish it"]
    old, new = semver(entry["version"]), semver(contract.version)
    label = f"{contract.key} {entry['version']} -> {contract.version}"
    if new < old:
        return [f"{label}: the version went backwards"]
    changed = entry["sha256"] != contract.digest
    if new == old:
        return [f"{contract.key}: schemas changed without a version bump"] if changed else []
    if new[1] == old[1]:  # patch bump
        return [f"{label}: a patch release must not change the schemas"] if changed else []
    problems = compatibility_problems(
        entry["request"], contract.request_schema, "request", widen_enums=True
    )
    problems += compatibility_problems(entry["response"], contract.response_schema, "response")
    return [f"{label}: not backward compatible: {p}" for p in problems]


def verify(contracts: dict[str, ToolContract], lock: dict[str, Any]) -> None:
    problems = [p for c in contracts.values() for p in check_against_lock(c, lock)]
    if problems:
        raise ToolVersionMismatch("; ".join(problems))
