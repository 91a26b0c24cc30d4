"""Generate a minimal instance that validates against a JSON Schema.

Used by the emulator to answer a forced tool choice with schema-valid arguments, the way
pydantic-ai's TestModel does: required properties only, the smallest values the constraints allow.
"""

from __future__ import annotations

from typing import Any

_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
}


def minimal_instance(schema: Any, root: Any = None) -> Any:
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        return minimal_instance(_resolve(schema["$ref"], root), root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0], root)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged = _merge(merged, _resolve(part["$ref"], root) if "$ref" in part else part)
        return minimal_instance(merged, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    builder = _BUILDERS.get(kind or ("object" if "properties" in schema else ""))
    return builder(schema, root) if builder else {}


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {**a, **b}
    out["properties"] = {**a.get("properties", {}), **b.get("properties", {})}
    out["required"] = sorted({*a.get("required", []), *b.get("required", [])})
    return out


def _object(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    props = schema.get("properties", {})
    required = list(schema.get("required", []))
    for name in props:
        if len(required) >= schema.get("minProperties", 0):
            break
        if name not in required:
            required.append(name)
    return {name: minimal_instance(props.get(name, {}), root) for name in required}


def _array(schema: dict[str, Any], root: Any) -> list[Any]:
    count = schema.get("minItems", 0)
    prefix = schema.get("prefixItems", [])
    items = [minimal_instance(s, root) for s in prefix[:count]]
    items += [minimal_instance(schema.get("items", {}), root) for _ in range(count - len(items))]
    return items


def _string(schema: dict[str, Any], root: Any) -> str:
    example = _FORMATS.get(str(schema.get("format")))
    if example is not None:
        return example
    return "x" * max(int(schema.get("minLength", 1)), 1)


def _number(schema: dict[str, Any], root: Any) -> int | float:
    integer = schema.get("type") == "integer"
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    value: int | float = low if low is not None else 1
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if step:
        value = step * max(1, -(-value // step))
    return int(value) if integer else value


_BUILDERS: dict[str, Any] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": _number,
    "number": _number,
    "boolean": lambda schema, root: False,
    "null": lambda schema, root: None,
}
