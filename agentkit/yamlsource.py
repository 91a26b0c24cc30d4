"""YAML loading that remembers where every value came from.

Every YAML input of agentkit (configuration, fault plans, architectures, runbooks) goes through
:func:`load_yaml`, so every error can name the file, the line and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agentkit.errors import UserError

KeyPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    source: str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def where(self, path: KeyPath) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_yaml(text: str, source: str, error: type[UserError] = UserError) -> YamlDocument:
    """Parse one YAML document, keeping the line of every key and list item."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _construct(loader, node, (), lines) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise error(f"{where}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{source}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, source=source, lines=lines)


def read_yaml(path: Path, error: type[UserError] = UserError) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    return load_yaml(text, str(path), error)


def read_json(path: Path, error: type[UserError] = UserError) -> Any:
    """Parse a JSON file; a missing or broken file is one line naming it (and the line)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None


def _construct(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            out[key] = _construct(loader, value_node, (*path, str(key)), lines)
            lines[(*path, str(key))] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_model(
    model: type[M],
    doc: YamlDocument,
    error: type[UserError] = UserError,
    *,
    prefix: KeyPath = (),
) -> M:
    """Validate ``doc.data`` into ``model``; the first problem becomes one line naming key, line."""
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        raise error(describe_validation_error(exc, doc, prefix)) from None


def describe_validation_error(exc: ValidationError, doc: YamlDocument, prefix: KeyPath = ()) -> str:
    first = exc.errors(include_url=False)[0]
    path: KeyPath = (*prefix, *(p for p in first["loc"] if isinstance(p, str | int)))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    elif first["type"] == "missing":
        message = "required key is missing"
    got = first.get("input")
    if first["type"] not in ("missing", "extra_forbidden") and _is_scalar(got):
        message += f" (got {got!r})"
    return f"{doc.where(path)}: {format_path(path)}: {message}"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
