"""Architecture files and failure-mode catalogs, loaded with one error per problem and its line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentkit.dependencies import find_cycle
from agentkit.errors import InputError, UserError
from agentkit.regions import require_known_region, residency_regions
from agentkit.yamlsource import YamlDocument, describe_validation_error, printable, read_yaml

_PACKAGE = Path(__file__).resolve().parent
SCHEMA = _PACKAGE / "schemas" / "architecture-v2.schema.json"
CATALOG_SCHEMA = _PACKAGE / "schemas" / "catalog-v2.schema.json"
CATALOGS = {1: _PACKAGE / "catalog-v1.yaml", 2: _PACKAGE / "catalog-v2.yaml"}
DEFAULT_VERSION = 2
DEFAULT_CATALOG = CATALOGS[DEFAULT_VERSION]
MAX_COMPONENTS = 10_000  # keeps the dependents bitsets (components squared bits) small
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # the schema's id pattern, matched in full
CLASSES = (
    "shared_fate",
    "insufficient_capacity",
    "excessive_latency",
    "incorrect_response",
    "single_point_of_failure",
)
# The topology predicates a catalogue's `applies` may name (agentkit.fmea.topology evaluates them);
# besides these, `attr:NAME` (attribute set and true) and `NAME=value` compare an attribute.
PREDICATES = (
    "single_region",
    "multi_region",
    "workload_multi_region",
    "multi_region_writers",
    "multi_partition",
    "single_az",
    "multi_az",
    "residency",
    "has_dependents",
    "behind_upstream_timeout",
    "fronts_model",
    "side_effects",
    "human_approval",
    "untrusted_content",
    "global_profile",
    "single_destination_profile",
    "has_orchestration",
    "no_observability",
    "on_demand_models",
)
_CONDITION = re.compile(r"(not:)?(attr:[a-z_][a-z0-9_]*|[a-z_][a-z0-9_]*=[A-Za-z0-9_.-]+|[a-z_]+)")
_LOWERING = re.compile(r"[od]-[1-9]( [od]-[1-9])?")
# v1 attributes that are controls: `resilience.circuit_breaker: true` lists `circuit_breaker`.
V1_CONTROLS = {
    ("resilience", "circuit_breaker"): "circuit_breaker",
    ("resilience", "timeouts"): "timeouts",
    ("resilience", "fallback"): "fallback_region",
    ("resilience", "versioned_schemas"): "schema_validation",
    ("resilience", "recursion_limit"): "recursion_limit",
    ("resilience", "reserved_concurrency"): "reserved_concurrency",
    ("resilience", "guardrails"): "guardrails",
    ("monitoring", "alarms"): "alarms",
    ("monitoring", "tracing"): "tracing",
    ("monitoring", "evaluations"): "online_evaluations",
    ("backups", "enabled"): "backups",
    ("backups", "cross_region_copy"): "cross_region_backup",
    ("backups", "pitr"): "pitr",
}


class Modifier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    when: str
    is_: Any = Field(alias="is")
    rating: str = Field(pattern="^[sod]$")
    delta: int = Field(ge=-9, le=9)
    reason: str


class FailureMode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    class_: str = Field(alias="class", pattern="^(" + "|".join(CLASSES) + ")$")
    dimension: str
    hub_category: str
    mode: str
    effect: str
    cause: str
    prevention: str
    detection: str
    actions: tuple[str, ...]
    s: int = Field(ge=1, le=10)
    o: int = Field(ge=1, le=10)
    d: int = Field(ge=1, le=10)
    modifiers: tuple[Modifier, ...] = ()
    why: str = ""  # one line: why these defaults
    source: Literal["", "domain"] = ""  # "domain": the seed catalogue's values (domain.md 2.3)
    applies: tuple[str, ...] = ()  # topology conditions, all must hold
    ruled_out_by: tuple[str, ...] = ()  # a listed control that removes the cause
    lowers: dict[str, str] = Field(default_factory=dict)  # control -> "o-2 d-1"
    shared_cause: Literal["az", "region"] | None = None

    @model_validator(mode="after")
    def _check_rules(self) -> FailureMode:
        for condition in self.applies:
            if not _CONDITION.fullmatch(condition):
                raise ValueError(f"applies: {condition!r} is not a condition")
            name = condition.removeprefix("not:")
            if ":" not in name and "=" not in name and name not in PREDICATES:
                raise ValueError(f"applies: unknown predicate {name!r} ({', '.join(PREDICATES)})")
        for control, rule in self.lowers.items():
            if not _LOWERING.fullmatch(rule):
                raise ValueError(f"lowers.{control}: {rule!r} is not like 'o-2' or 'o-2 d-1'")
        return self

    def lowering(self, control: str) -> list[tuple[str, int]]:
        """[("o", -2), ("d", -1)] for "o-2 d-1"."""
        return [(part[0], -int(part[2:])) for part in self.lowers.get(control, "").split()]


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: int
    kinds: dict[str, tuple[FailureMode, ...]]
    zonal_kinds: tuple[str, ...] = ()
    derived: dict[str, FailureMode] = Field(default_factory=dict)
    controls: dict[str, str] = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)


def unknown_control(catalog: Catalog) -> str | None:
    """The first rule naming a control the catalogue does not define, as a message."""
    if not catalog.controls:
        return None  # a version 1 catalogue: no controls, no rules
    for kind, modes in [*catalog.kinds.items(), ("derived", tuple(catalog.derived.values()))]:
        for mode in modes:
            for control in [*mode.lowers, *mode.ruled_out_by]:
                if control not in catalog.controls:
                    return f"{kind}/{mode.id}: unknown control {control!r}"
    return None


@dataclass(frozen=True)
class Architecture:
    doc: YamlDocument

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.doc.data)

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.data["components"])

    @property
    def workload(self) -> dict[str, Any]:
        return dict(self.data["workload"])

    def line_of(self, index: int) -> int:
        return self.doc.line_of(("components", index)) or 1


def load_catalog(
    path: Path | None = None, base: Catalog | None = None, version: int = DEFAULT_VERSION
) -> Catalog:
    """A built-in catalogue (``version``), or ``path``'s kinds merged over ``base``."""
    if path is None and base is None:
        if version not in CATALOGS:
            raise InputError(f"--catalog-version: {version}; agentkit has {sorted(CATALOGS)}")
        return _builtin_catalog(version)
    return _load_catalog(path or DEFAULT_CATALOG, base)


@cache
def _builtin_catalog(version: int) -> Catalog:
    return _load_catalog(CATALOGS[version], None)  # read once: it is package data


def _load_catalog(path: Path, base: Catalog | None) -> Catalog:
    doc = read_yaml(path, InputError)
    try:
        catalog = Catalog.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, doc)) from None
    if base is None:
        _check_catalog_controls(catalog, doc)
        return catalog
    merged = Catalog(
        version=catalog.version,
        kinds={**base.kinds, **catalog.kinds},
        zonal_kinds=tuple(sorted({*base.zonal_kinds, *catalog.zonal_kinds})),
        derived={**base.derived, **catalog.derived},
        controls={**base.controls, **catalog.controls},
        functions={**base.functions, **catalog.functions},
    )
    _check_catalog_controls(merged, doc)
    return merged


def _check_catalog_controls(catalog: Catalog, doc: YamlDocument) -> None:
    problem = unknown_control(catalog)
    if problem:
        raise InputError(f"{doc.where(('kinds',))}: {problem}")


def load_architecture(path: Path, catalog: Catalog) -> Architecture:
    doc = read_yaml(path, InputError)
    if not isinstance(doc.data, dict):
        raise InputError(
            f"{path}:1: an architecture is a mapping with apiVersion, workload, components"
        )
    return architecture_from(doc, catalog)


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator, re.Pattern[str]]:
    """The schema without its component items, the component item schema, and its id pattern."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    item = schema["properties"]["components"]["items"]
    shallow = json.loads(json.dumps(schema))
    shallow["properties"]["components"]["items"] = {"type": "object"}
    pattern = re.compile(item["properties"]["id"]["pattern"])
    return Draft202012Validator(shallow), Draft202012Validator(item), pattern


def _schema_errors(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, str]]:
    """(path, JSON path, message) of every schema error, as one validation of the whole file
    would give them, up to the first invalid component. Components that differ only in their
    id and depends_on (checked apart) are validated once: 10,000 generated ones are a handful."""
    top, item, id_pattern = _validators()
    errors = [(tuple(e.path), e.json_path, e.message) for e in top.iter_errors(data)]
    components = data.get("components")
    if not isinstance(components, list):
        return errors
    valid: set[str] = set()
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            continue  # the shallow schema reported it
        cid, targets = component.get("id"), component.get("depends_on", [])
        plain = (
            isinstance(cid, str)
            and id_pattern.search(cid) is not None
            and isinstance(targets, list)
            and all(isinstance(t, str) for t in targets)
        )
        key = repr(sorted((k, v) for k, v in component.items() if k not in ("id", "depends_on")))
        if plain and key in valid:
            continue
        found = list(item.iter_errors(component))
        if not found:
            if plain:
                valid.add(key)
            continue
        prefix = f"$.components[{index}]"
        errors += [
            (("components", index, *e.path), prefix + e.json_path[1:], e.message) for e in found
        ]
        break  # later components' errors sort after these
    return errors


def architecture_from(doc: YamlDocument, catalog: Catalog) -> Architecture:
    """Check a parsed architecture (a file, or one built from a Terraform plan)."""
    errors = sorted(_schema_errors(doc.data), key=lambda e: (list(map(str, e[0])), e[2]))
    if errors:
        path, json_path, message = errors[0]
        where = doc.where(path)
        raise InputError(f"{where}: {printable(json_path)}: {printable(message)}")
    architecture = Architecture(doc)
    if len(architecture.components) > MAX_COMPONENTS:
        raise InputError(
            f"{doc.where(('components',))}: {len(architecture.components):,} components; "
            f"the limit is {MAX_COMPONENTS:,}"
        )
    _check_graph(architecture, catalog)
    _check_regions(architecture)
    _check_controls(architecture, catalog)
    return architecture


def _check_regions(architecture: Architecture) -> None:
    doc = architecture.doc
    places: list[tuple[tuple[str | int, ...], list[str]]] = [
        (("regions",), list(architecture.data.get("regions", [])))
    ]
    for index, component in enumerate(architecture.components):
        for key in ("regions", "replicas", "writers"):
            if key in component:
                places.append((("components", index, key), list(component[key])))
    seen: set[str] = set()
    for path, regions in places:
        for region in regions:
            if region in seen:
                continue
            try:
                require_known_region(region, InputError)
            except UserError as exc:
                raise InputError(f"{doc.where(path)}: {format_key(path)}: {exc}") from None
            seen.add(region)
    residency = architecture.workload.get("residency", [])
    try:
        residency_regions(residency)
    except UserError as exc:
        path = ("workload", "residency")
        raise InputError(f"{doc.where(path)}: {format_key(path)}: {exc}") from None


def _check_controls(architecture: Architecture, catalog: Catalog) -> None:
    if not catalog.controls:
        return
    owners: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
        (("workload",), architecture.workload)
    ]
    owners += [(("components", i), c) for i, c in enumerate(architecture.components)]
    for where, owner in owners:
        for position, entry in enumerate(owner.get("mitigations", [])):
            control = entry if isinstance(entry, str) else entry["control"]
            if control not in catalog.controls:
                path = (*where, "mitigations", position)
                raise InputError(
                    f"{architecture.doc.where(path)}: {format_key(path)}: unknown control "
                    f"{control!r} (known: {', '.join(sorted(catalog.controls))})"
                )


def format_key(path: tuple[str | int, ...]) -> str:
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)
    )


_HAS_CONTROLS = frozenset({"mitigations", *(section for section, _ in V1_CONTROLS)})


def controls_of(component: dict[str, Any]) -> dict[str, list[str]]:
    """The controls a component lists (and v1's control attributes), with their evidence."""
    found: dict[str, list[str]] = {}
    if not _HAS_CONTROLS.intersection(component):
        return found
    for (section, key), control in V1_CONTROLS.items():
        if (component.get(section) or {}).get(key) is True:
            found.setdefault(control, [])
    for entry in component.get("mitigations", ()):
        if isinstance(entry, str):
            found.setdefault(entry, [])
        else:
            found.setdefault(entry["control"], []).extend(entry.get("evidence", []))
    return found


def _check_graph(architecture: Architecture, catalog: Catalog) -> None:
    ids: dict[str, int] = {}
    for index, component in enumerate(architecture.components):
        where = architecture.doc.where(("components", index))
        if not ID.fullmatch(component["id"]):
            raise InputError(
                f"{where}: component id {component['id']!r} must be letters, digits, '_', '.' "
                "or '-', starting with a letter or digit"
            )
        if component["id"] in ids:
            raise InputError(f"{where}: duplicate component id {component['id']!r}")
        ids[component["id"]] = index
        if component["kind"] not in catalog.kinds:
            known = ", ".join(sorted(catalog.kinds))
            raise InputError(f"{where}: unknown kind {component['kind']!r} (known: {known})")
    for index, component in enumerate(architecture.components):
        for target in component.get("depends_on", []):
            if target not in ids:
                where = architecture.doc.where(("components", index, "depends_on"))
                raise InputError(
                    f"{where}: {component['id']} depends on unknown component {target!r}"
                )
    cycle = find_cycle({c["id"]: c.get("depends_on", []) for c in architecture.components})
    if cycle:
        where = architecture.doc.where(("components", ids[cycle[0]]))
        raise InputError(f"{where}: depends_on cycle: {' -> '.join(cycle)}")
