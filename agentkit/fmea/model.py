"""Architecture files and failure-mode catalogs, loaded with one error per problem and its line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.dependencies import find_cycle
from agentkit.errors import InputError
from agentkit.yamlsource import YamlDocument, describe_validation_error, printable, read_yaml

_PACKAGE = Path(__file__).resolve().parent
SCHEMA = _PACKAGE / "schemas" / "architecture-v1.schema.json"
DEFAULT_CATALOG = _PACKAGE / "catalog-v1.yaml"
MAX_COMPONENTS = 10_000  # keeps the dependents bitsets (components squared bits) small
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # the schema's id pattern, matched in full
CLASSES = (
    "shared_fate",
    "insufficient_capacity",
    "excessive_latency",
    "incorrect_response",
    "single_point_of_failure",
)


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


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: int
    kinds: dict[str, tuple[FailureMode, ...]]
    zonal_kinds: tuple[str, ...] = ()
    derived: dict[str, FailureMode] = Field(default_factory=dict)


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


def load_catalog(path: Path | None = None, base: Catalog | None = None) -> Catalog:
    """The built-in catalog, or ``path``'s kinds merged over ``base`` (a user's additions)."""
    if path is None and base is None:
        return _default_catalog()
    return _load_catalog(path or DEFAULT_CATALOG, base)


@cache
def _default_catalog() -> Catalog:
    return _load_catalog(DEFAULT_CATALOG, None)  # read once: it is package data


def _load_catalog(path: Path, base: Catalog | None) -> Catalog:
    doc = read_yaml(path, InputError)
    try:
        catalog = Catalog.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, doc)) from None
    if base is None:
        return catalog
    return Catalog(
        version=catalog.version,
        kinds={**base.kinds, **catalog.kinds},
        zonal_kinds=tuple(sorted({*base.zonal_kinds, *catalog.zonal_kinds})),
        derived={**base.derived, **catalog.derived},
    )


def load_architecture(path: Path, catalog: Catalog) -> Architecture:
    doc = read_yaml(path, InputError)
    if not isinstance(doc.data, dict):
        raise InputError(
            f"{path}:1: an architecture is a mapping with apiVersion, workload, components"
        )
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (list(e.path), e.message))
    if errors:
        error = errors[0]
        where = doc.where(tuple(error.path))
        raise InputError(f"{where}: {printable(error.json_path)}: {printable(error.message)}")
    architecture = Architecture(doc)
    if len(architecture.components) > MAX_COMPONENTS:
        raise InputError(
            f"{doc.where(('components',))}: {len(architecture.components):,} components; "
            f"the limit is {MAX_COMPONENTS:,}"
        )
    _check_graph(architecture, catalog)
    return architecture


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
