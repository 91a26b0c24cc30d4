"""YAML and JSON loading that remembers where every value came from, within safe limits.

Every YAML input of agentkit (configuration, fault plans, architectures, runbooks, the catalog)
goes through :func:`load_yaml`, so every error can name the file, the line and the key, and no
input can make it do unbounded work: documents are limited in size (:data:`MAX_INPUT_BYTES`),
nesting (:data:`MAX_DEPTH`), aliases to collections (:data:`MAX_ALIASES`, which stops the
"billion laughs") and values built (:data:`MAX_NODES`); numbers must be finite. JSON inputs
(:func:`parse_json`) get the same limits and refuse ``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agentkit.errors import UserError

KeyPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

MAX_INPUT_BYTES = 5 * 1024 * 1024  # any one input file or document
MAX_DEPTH = 64  # nested mappings and lists
MAX_ALIASES = 100  # aliases that point at a mapping or a list
MAX_NODES = 200_000  # values composed, and values built with aliases expanded
MAX_INT = 2**63 - 1  # integers beyond 64 bits are refused: no input needs them, math overflows


class LimitExceeded(yaml.MarkedYAMLError):
    """A document goes beyond one of the limits above."""


class _Limits(yaml.composer.Composer):
    """The composer of PyYAML's safe loader, refusing documents that are too deep, too large or
    alias too many collections.

    The composer recurses once per nesting level, so depth is checked there, before Python's own
    recursion limit is near; nodes are counted as they are composed, so a huge document stops
    early.
    """

    def _start_limits(self) -> None:
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if isinstance(target, yaml.CollectionNode):
                self._aliases += 1
                _refuse_if(
                    self._aliases > MAX_ALIASES,
                    event,
                    f"more than {MAX_ALIASES} aliases to mappings or lists",
                )
            return super().compose_node(parent, index)
        self._nodes += 1
        _refuse_if(self._nodes > MAX_NODES, event, f"more than {MAX_NODES:,} values")
        self._depth += 1
        try:
            _refuse_if(self._depth > MAX_DEPTH, event, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _refuse_beyond_limits(event: yaml.Event, nodes: int, depth: int) -> None:
    """The composer's checks, for the event path: ``event`` is value number ``nodes``."""
    _refuse_if(nodes > MAX_NODES, event, f"more than {MAX_NODES:,} values")
    _refuse_if(depth > MAX_DEPTH, event, f"nested more than {MAX_DEPTH} levels deep")


def _refuse_if(condition: bool, event: yaml.Event, problem: str) -> None:
    if condition:
        raise LimitExceeded(problem=problem, problem_mark=_mark(event))


class _PureLoader(_Limits, yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._start_limits()


_LimitedLoader: Any = _PureLoader
if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _FastLoader(_Limits, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml parses (10 times faster), Python composes: the same limits, sooner."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_limits()

    _LimitedLoader = _FastLoader


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
        key = printable(str(part))
        out += f"[{part}]" if isinstance(part, int) else (f".{key}" if out else key)
    return out or "(top level)"


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a key cannot break a one-line message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def load_yaml(text: str, source: str, error: type[UserError] = UserError) -> YamlDocument:
    """Parse one YAML document, keeping the line of every key and list item."""
    check_size(len(text), source, error)
    try:
        loader = _LimitedLoader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow (NUL, other controls)
        raise error(f"{source}: invalid YAML: {_flat(exc)}") from None
    try:
        lines: dict[KeyPath, int] = {}
        data = _Builder(loader, lines).from_events()
        if data is _COMPOSE:  # anchors, aliases, tags or merge keys: the general path
            loader.dispose()
            loader = _LimitedLoader(text)
            lines.clear()
            node = loader.get_single_node()
            data = _Builder(loader, lines).build(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise error(f"{where}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{source}: invalid YAML: {_flat(exc)}") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, source=source, lines=lines)


def check_size(
    size: int, source: str, error: type[UserError] = UserError, limit: int = MAX_INPUT_BYTES
) -> None:
    """Refuse an input larger than ``limit`` bytes before any work is done on it."""
    if size > limit:
        raise error(f"{source}: input too large ({size:,} bytes; the limit is {limit:,})")


def read_text(path: Path, error: type[UserError] = UserError, limit: int = MAX_INPUT_BYTES) -> str:
    """A UTF-8 text file within the size limit; every problem is one line naming the file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    check_size(len(raw), str(path), error, limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise error(f"{path}: contains a NUL byte: not a text file")
    return text


def read_yaml(path: Path, error: type[UserError] = UserError) -> YamlDocument:
    return load_yaml(read_text(path, error), str(path), error)


def read_json(path: Path, error: type[UserError] = UserError, limit: int = MAX_INPUT_BYTES) -> Any:
    """Parse a JSON file; a missing or broken file is one line naming it (and the line)."""
    return parse_json(read_text(path, error, limit), str(path), error, limit)


def parse_json(
    text: str | bytes,
    source: str,
    error: type[UserError] = UserError,
    limit: int = MAX_INPUT_BYTES,
) -> Any:
    """Strict JSON within the limits: no ``NaN``/``Infinity``, bounded size and nesting."""
    check_size(len(text), source, error, limit)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        raise error(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise error(f"{source}: invalid JSON: nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeDecodeError as exc:
        raise error(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:  # NaN/Infinity, or an integer too long to convert
        raise error(f"{source}: invalid JSON: {exc}") from None
    if json_depth(data) > MAX_DEPTH:
        raise error(f"{source}: invalid JSON: nested more than {MAX_DEPTH} levels deep")
    return data


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests dicts and lists (iteratively: any depth is safe)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in _children(item))
    return deepest


def _children(item: dict[Any, Any] | list[Any]) -> Any:
    return item.values() if isinstance(item, dict) else item


def bounded_int(digits: str) -> int:
    """A JSON integer within 64 bits; else a ValueError (also for the int-to-str limit)."""
    if len(digits.lstrip("-")) > 19 or abs(value := int(digits)) > MAX_INT:
        raise ValueError(f"integer {digits[:20]}... is out of range (at most {MAX_INT})")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_COMPOSE: Any = object()  # from_events() cannot build this document: compose it
_STR_TAG = "tag:yaml.org,2002:str"
_KEY_TAGS_TO_COMPOSE = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")
_NODE_EVENTS = frozenset((yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent))
_END_EVENTS = frozenset((yaml.MappingEndEvent, yaml.SequenceEndEvent))


class _Builder:
    """Builds Python values from composed nodes, recording lines and enforcing the limits."""

    def __init__(self, loader: yaml.SafeLoader, lines: dict[KeyPath, int]) -> None:
        self.loader = loader
        self.lines = lines
        self.built = 0
        self.open: set[int] = set()  # collection nodes being built: an alias to one is a cycle
        # First characters of plain scalars that an implicit type (int, bool, null...) may match
        self._resolved_first: frozenset[str | None] = frozenset(loader.yaml_implicit_resolvers)

    def build(self, node: yaml.Node, path: KeyPath = ()) -> Any:
        self.built += 1
        if self.built > MAX_NODES:
            raise LimitExceeded(
                problem=f"expands to more than {MAX_NODES:,} values (aliases?)",
                problem_mark=node.start_mark,
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.open:
                raise LimitExceeded(
                    problem="an alias refers to itself", problem_mark=node.start_mark
                )
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        return self._scalar(node)

    def from_events(self) -> Any:
        """The document built straight from the parser's events, in one loop without nodes.

        Most inputs (an architecture of 10,000 components is 125,000 values) use no anchors,
        aliases, explicit tags or merge keys; for those this gives the values, lines and errors
        of composing and building, twice as fast. For any other document, and for one with a
        key or value the builder refuses (whose error must come in document order, after any
        syntax error further on), it stops there and returns :data:`_COMPOSE`.
        """
        if None in self._resolved_first or self.loader.yaml_path_resolvers:
            return _COMPOSE  # resolvers that look at every scalar or at paths: not the safe ones
        get_event: Any = self.loader.get_event
        get_event()  # StreamStartEvent
        if type(get_event()) is not yaml.DocumentStartEvent:
            return None  # an empty stream
        lines = self.lines
        # Open collections: [value, path, awaiting a key?, the key, the key's path]
        stack: list[list[Any]] = []
        nodes = 0
        while True:
            event = get_event()
            kind = type(event)
            if kind in _END_EVENTS:
                value = stack.pop()[0]
            elif kind in _NODE_EVENTS:
                nodes += 1
                if nodes > MAX_NODES or len(stack) >= MAX_DEPTH:
                    _refuse_beyond_limits(event, nodes, len(stack) + 1)
                if event.anchor is not None or event.tag not in (None, "!"):
                    return _COMPOSE
                if not stack:
                    path: KeyPath = ()
                    lines[path] = event.start_mark.line + 1
                elif stack[-1][2]:  # a key
                    if not self._event_key(event, stack[-1]):
                        return _COMPOSE
                    continue
                elif type(stack[-1][0]) is list:
                    path = (*stack[-1][1], len(stack[-1][0]))
                    lines.setdefault(path, event.start_mark.line + 1)
                else:
                    path = stack[-1][4]  # a value: the line of its key, recorded already
                if kind is yaml.MappingStartEvent:
                    stack.append([{}, path, True, None, None])
                    continue
                if kind is yaml.SequenceStartEvent:
                    stack.append([[], path, False, None, None])
                    continue
                value = self._event_scalar(event)
                if value is _COMPOSE:
                    return _COMPOSE
            elif kind is yaml.DocumentEndEvent:
                # one document only; the general path words the error for a second one
                return value if type(get_event()) is yaml.StreamEndEvent else _COMPOSE
            else:  # an alias
                return _COMPOSE
            if stack:
                parent = stack[-1]
                if type(parent[0]) is list:
                    parent[0].append(value)
                else:
                    parent[0][parent[3]] = value
                    parent[2] = True

    def _event_key(self, event: Any, mapping: list[Any]) -> bool:
        """Record the next key of an open mapping; False when composing must build this one."""
        line: int = event.start_mark.line + 1
        if type(event) is not yaml.ScalarEvent:
            return False
        key = self._event_scalar(event, keys=True)
        if key is _COMPOSE or key in mapping[0]:
            return False
        path = (*mapping[1], str(key))
        self.lines[path] = line
        mapping[2:] = [False, key, path]
        return True

    def _event_scalar(self, event: Any, *, keys: bool = False) -> Any:
        """A scalar's value; :data:`_COMPOSE` for one the builder refuses (its error must come
        in document order) and for a merge (``<<``) or value (``=``) key."""
        value = event.value
        if not event.implicit[0] or value[:1] not in self._resolved_first:
            return value  # quoted, or plain text no implicit type can match: a string
        resolve: Any = self.loader.resolve
        tag = resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR_TAG:
            return value
        if keys and tag in _KEY_TAGS_TO_COMPOSE:
            return _COMPOSE
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return self._scalar(node)
        except yaml.MarkedYAMLError:
            return _COMPOSE

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    problem="a key must be a plain value, not a mapping or list",
                    problem_mark=key_node.start_mark,
                )
            key = self._scalar(key_node)
            if key in out:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            out[key] = self.build(value_node, (*path, str(key)))
            self.lines[(*path, str(key))] = key_node.start_mark.line + 1
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:  # huge ints, impossible dates
            raise yaml.MarkedYAMLError(
                problem=f"invalid value {_short(node)}: {exc}", problem_mark=node.start_mark
            ) from None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise yaml.MarkedYAMLError(
                problem=f"integer out of range (got {_short(node)}; at most {MAX_INT})",
                problem_mark=node.start_mark,
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise yaml.MarkedYAMLError(
                problem=f"numbers must be finite (got {_short(node)})", problem_mark=node.start_mark
            )
        return value


def _flat(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _mark(event: yaml.Event) -> yaml.Mark | None:
    mark = event.start_mark
    return mark if isinstance(mark, yaml.Mark) else None


def _short(node: yaml.Node) -> str:
    text = str(node.value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


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
