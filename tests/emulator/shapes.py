"""Strict checks of raw emulator JSON against botocore's own bedrock-runtime service model."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.model import Shape, StructureShape

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")


def output_shape(operation: str) -> StructureShape:
    shape = _MODEL.operation_model(operation).output_shape
    assert shape is not None
    return shape


def event_shape(name: str) -> Shape:
    return output_shape("ConverseStream").members["stream"].members[name]


def body_members(shape: StructureShape) -> dict[str, Shape]:
    """Members that travel in the JSON body (not headers, not the event stream)."""
    return {
        name: member
        for name, member in shape.members.items()
        if member.serialization.get("location") is None
    }


def check(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every way ``value`` disagrees with ``shape``: missing required or unknown members, wrong
    types, values outside an enum. An empty list means it validates."""
    kind = shape.type_name
    if kind == "structure":
        return _check_structure(value, shape, path)  # type: ignore[arg-type]
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [
            e for i, item in enumerate(value) for e in check(item, shape.member, f"{path}[{i}]")
        ]  # type: ignore[attr-defined]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [e for k, v in value.items() for e in check(v, shape.value, f"{path}.{k}")]  # type: ignore[attr-defined]
    return _check_scalar(value, shape, path)


def _check_structure(value: Any, shape: StructureShape, path: str) -> list[str]:
    if shape.is_document_type:
        return []
    if not isinstance(value, dict):
        return [f"{path}: expected an object"]
    members = body_members(shape)
    errors = [
        f"{path}.{name}: required"
        for name in shape.required_members
        if name in members and name not in value
    ]
    for name, item in value.items():
        if name not in members:
            errors.append(f"{path}.{name}: not in the {shape.name} shape")
        else:
            errors += check(item, members[name], f"{path}.{name}")
    return errors


def _check_scalar(value: Any, shape: Shape, path: str) -> list[str]:
    kind = shape.type_name
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "long": (int,),
        "boolean": (bool,),
        "double": (int, float),
        "float": (int, float),
        "blob": (str, bytes),
        "timestamp": (str, int, float),
    }
    types = expected.get(kind, (object,))
    if not isinstance(value, types) or (kind in ("integer", "long") and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    enum = shape.enum if kind == "string" else []
    if enum and value not in enum:
        return [f"{path}: {value!r} not in {enum}"]
    return []
