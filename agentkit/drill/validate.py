"""Check an API input against botocore's service model, as the AWS CLI would send it.

botocore's :class:`~botocore.validate.ParamValidator` checks names, types, required members and
minimums; the service enforces more (maximum lengths, patterns, enums), so those are checked
here too, walking the same shapes. Patterns are searched, not anchored: Smithy patterns match
anywhere unless they carry ``^``/``$`` themselves. The Unicode classes the models use inside
brackets (``\\p{L}``, ``\\p{Z}``, ``\\p{N}``) are widened to ranges Python's ``re`` reads: every
non-ASCII character counts as a letter, so a check may pass a value the service refuses for an
exotic character, never the other way round for ASCII.
"""

from __future__ import annotations

import re
from typing import Any


def check_request(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every problem with ``params`` as ``operation``'s input; empty when it would be sent."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    problems: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        problems += [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    _walk(params, shape, f"{service}.{operation}", problems)
    return problems


def _walk(value: Any, shape: Any, where: str, problems: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                _walk(item, shape.members[key], f"{where}.{key}", problems)
    elif kind == "list" and isinstance(value, list):
        _length(len(value), meta, where, problems)
        for index, item in enumerate(value):
            _walk(item, shape.member, f"{where}[{index}]", problems)
    elif kind == "map" and isinstance(value, dict):
        _length(len(value), meta, where, problems)
        for key, item in value.items():
            _walk(key, shape.key, f"{where} key {key!r}", problems)
            _walk(item, shape.value, f"{where}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        _length(len(value), meta, where, problems)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} is not one of {', '.join(enum)}")
        pattern = meta.get("pattern")
        if pattern is not None and re.search(_python(pattern), value) is None:
            problems.append(f"{where}: {value[:80]!r} does not match {pattern}")


_UNICODE_CLASSES = {
    r"\p{L}": "A-Za-z\u00c0-\U0010ffff",
    r"\p{Z}": " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
    r"\p{N}": "0-9",
}


def _python(pattern: str) -> str:
    for java, ranges in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, ranges)
    return pattern


def _length(length: int, meta: dict[str, Any], where: str, problems: list[str]) -> None:
    if "max" in meta and length > meta["max"]:
        problems.append(f"{where}: length {length} is above the maximum {meta['max']}")
    if "min" in meta and length < meta["min"]:
        problems.append(f"{where}: length {length} is below the minimum {meta['min']}")
