"""The control document: what an operator has overridden, as ``KEY=VALUE`` fields.

The document is a flat mapping of strings, the same on every backend (a JSON file, a Redis hash):

- ``kill_switch=on``: new runs are refused (:class:`KillSwitchOn`) and running ones stop at their
  next graph step (stop reason ``kill_switch``).
- ``pin=ROUTE``: the gateway uses only the routes that match: a Region (``us-west-2``), a model id,
  or a route name (``MODEL@REGION``).
- ``max_tokens=N``: every model request carries at most ``N`` as ``maxTokens``.
- ``tool.NAME=OTHER``: calls to tool ``NAME`` go to ``OTHER`` (same response schema).

:func:`parse_assignment` turns what an operator typed into a field, or one line naming the mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import OperatorStop, UserError

KILL_SWITCH, PIN, MAX_TOKENS, TOOL_PREFIX = "kill_switch", "pin", "max_tokens", "tool."
KEYS = (KILL_SWITCH, PIN, MAX_TOKENS, "tool.NAME")
STOP_REASON = "kill_switch"  # RunResult.stop_reason of a run the kill switch stopped
ATTRIBUTE = "agentkit.ops.overrides"  # span attribute: the active overrides, "k=v k=v"
_ON, _OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@#/-]{0,199}")
_TOOL = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TOKENS_LIMIT = 1_000_000


class OpsError(UserError):
    """A mistake in an override an operator set (a key, a value)."""


class KillSwitchOn(OperatorStop):
    """The operator's kill switch is on: the run was refused, or stopped at its next step."""

    def __init__(self, overrides: Overrides, *, running: bool = False) -> None:
        who = f" by {overrides.set_by}" if overrides.set_by else ""
        when = f" at {overrides.set_at}" if overrides.set_at else ""
        what = "the run stopped at its next step" if running else "new runs are refused"
        super().__init__(
            f"the operator kill switch is on (set{who}{when}): {what}; "
            "`agentkit ops clear kill_switch` lifts it"
        )


@dataclass(frozen=True)
class Overrides:
    """One reading of the control document."""

    kill_switch: bool = False
    pin: str | None = None
    max_tokens: int | None = None
    tools: Mapping[str, str] = field(default_factory=dict)  # tool name -> the tool it goes to
    set_by: str | None = None  # who made the last change
    set_at: str | None = None  # when (ISO 8601, UTC)

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, str], meta: Mapping[str, str] | None = None
    ) -> Overrides:
        """The overrides of a stored document; a field that does not parse is ignored (a worker
        never stops serving over a bad document: ``ops set`` refuses bad values up front)."""
        parsed: dict[str, Any] = {}
        tools: dict[str, str] = {}
        for key, raw in fields.items():
            try:
                name, value = parse_assignment(f"{key}={raw}")
            except OpsError:
                continue
            if name.startswith(TOOL_PREFIX):
                tools[name.removeprefix(TOOL_PREFIX)] = value
            elif name == KILL_SWITCH:
                parsed[name] = value == "on"
            elif name == MAX_TOKENS:
                parsed[name] = int(value)
            else:
                parsed[name] = value
        meta = meta or {}
        return cls(
            **parsed, tools=tools, set_by=meta.get("by") or None, set_at=meta.get("at") or None
        )

    def fields(self) -> dict[str, str]:
        """The active overrides as document fields, in a fixed order."""
        found: dict[str, str] = {}
        if self.kill_switch:
            found[KILL_SWITCH] = "on"
        if self.pin is not None:
            found[PIN] = self.pin
        if self.max_tokens is not None:
            found[MAX_TOKENS] = str(self.max_tokens)
        for name in sorted(self.tools):
            found[TOOL_PREFIX + name] = self.tools[name]
        return found

    @property
    def active(self) -> bool:
        return bool(self.fields())

    def summary(self) -> str:
        """``kill_switch=on max_tokens=512``: the span attribute's value ("" when none)."""
        return " ".join(f"{k}={v}" for k, v in self.fields().items())

    def clamp(self, max_tokens: int | None) -> int | None:
        """``max_tokens`` under the clamp (the clamp itself when the request set none)."""
        if self.max_tokens is None:
            return max_tokens
        return self.max_tokens if max_tokens is None else min(max_tokens, self.max_tokens)

    def pins(self, model: str, region: str, name: str) -> bool:
        """True when the pin (if any) lets a route of this model, Region and name be used."""
        return self.pin is None or self.pin in (model, region, name)


NONE = Overrides()


def parse_assignment(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as (key, normalised value), or :class:`OpsError` in one line."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise OpsError(f"{text!r}: expected KEY=VALUE, e.g. kill_switch=on or max_tokens=512")
    if key == KILL_SWITCH:
        lowered = value.lower()
        if lowered in _ON:
            return key, "on"
        if lowered in _OFF:
            return key, "off"
        raise OpsError(f"kill_switch={value}: expected on or off")
    if key == MAX_TOKENS:
        if not value.isdigit() or not 1 <= int(value) <= MAX_TOKENS_LIMIT:
            raise OpsError(
                f"max_tokens={value}: expected a whole number from 1 to {MAX_TOKENS_LIMIT:,}"
            )
        return key, str(int(value))
    if key == PIN:
        if not _NAME.fullmatch(value):
            raise OpsError(f"pin={value}: expected a Region, a model id or a route name")
        return key, value
    if key.startswith(TOOL_PREFIX):
        tool = key.removeprefix(TOOL_PREFIX)
        if not _TOOL.fullmatch(tool) or not _TOOL.fullmatch(value):
            raise OpsError(
                f"{key}={value}: expected tool.NAME=FALLBACK with tool names "
                "(lowercase letters, digits, _)"
            )
        if tool == value:
            raise OpsError(f"{key}={value}: a tool cannot be re-routed to itself")
        return key, value
    raise OpsError(f"{key}: unknown override; the keys are {', '.join(KEYS)}")


def check_key(key: str) -> str:
    """A key to clear, or :class:`OpsError` naming the keys."""
    if key in (KILL_SWITCH, PIN, MAX_TOKENS) or (
        key.startswith(TOOL_PREFIX) and _TOOL.fullmatch(key.removeprefix(TOOL_PREFIX))
    ):
        return key
    raise OpsError(f"{key}: unknown override; the keys are {', '.join(KEYS)}")
