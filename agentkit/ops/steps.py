"""The operator override a runbook step means, for the step types overrides carry out.

``runbook plan`` prints it as an ``agentkit ops`` command under the step, and the ARC Region
switch export puts it in the custom action's payload (``"ops"``), so the action Lambda applies the
same change to the fleet's document (the Redis backend) as an operator would by hand:

- ``agent.kill_switch``: ``params.state`` (on or off), else the ``--value on|off`` of the step's
  own SSM ``command``: ``ops set kill_switch=on`` or ``ops clear kill_switch``.
- ``bedrock.clamp_max_tokens``: ``params.max_tokens``, a number (``ops set max_tokens=N``) or
  ``default`` (``ops clear max_tokens``).
- ``bedrock.profile_switch`` and ``bedrock.model_switch`` with ``params.pin``: ``ops set pin=...``
  (``pin: none`` clears it). A profile switch without a pin changes routes in agentkit.yaml.
- ``tool.route`` with ``params.to_tool``: ``ops set tool.TOOL=TO_TOOL`` (``to_tool: none``
  clears it). A version re-route (``to_version``) is the tool registry's, not an override.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.ops.document import (
    KILL_SWITCH,
    MAX_TOKENS,
    PIN,
    TOOL_PREFIX,
    OpsError,
    check_key,
    parse_assignment,
)

_SSM_VALUE = re.compile(r"--value\s+(on|off)\b")


@dataclass(frozen=True)
class OpsAction:
    """``set`` these fields, or ``clear`` these keys."""

    action: str  # set | clear
    fields: Mapping[str, str]  # set: key -> value; clear: key -> ""

    def command(self) -> str:
        if self.action == "set":
            assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in self.fields.items())
            return f"agentkit ops set {assignments}"
        return f"agentkit ops clear {' '.join(self.fields)}"

    def to_json(self) -> dict[str, Any]:
        if self.action == "set":
            return {"action": "set", "set": dict(self.fields)}
        return {"action": "clear", "keys": list(self.fields)}

    @classmethod
    def from_json(cls, data: Any) -> OpsAction:
        """The action of a payload's ``"ops"`` (what :meth:`to_json` wrote), every key and value
        checked as ``agentkit ops`` checks them; :class:`OpsError` in one line otherwise."""
        action = data.get("action") if isinstance(data, Mapping) else None
        if action == "set" and isinstance(data.get("set"), Mapping) and data["set"]:
            pairs = (parse_assignment(f"{k}={v}") for k, v in data["set"].items())
            return cls("set", dict(pairs))
        if action == "clear" and isinstance(data.get("keys"), list) and data["keys"]:
            return cls("clear", {check_key(str(k)): "" for k in data["keys"]})
        shown = json.dumps(data, default=str)[:200]
        raise OpsError(
            f"ops {shown}: expected "
            '{"action": "set", "set": {KEY: VALUE}} or {"action": "clear", "keys": [KEY, ...]}'
        )


def step_action(step_type: str, params: Mapping[str, Any]) -> OpsAction | None:
    """The override ``step_type`` with ``params`` means, or None (not an override, or a value
    that is not one: the step keeps its own command)."""
    try:
        return _action(step_type, params)
    except OpsError:
        return None


def _action(step_type: str, params: Mapping[str, Any]) -> OpsAction | None:
    if step_type == "agent.kill_switch":
        state = params.get("state")
        if state is None:
            found = _SSM_VALUE.search(str(params.get("command", "")))
            state = found.group(1) if found else None
        if state is None:
            return None
        _, value = parse_assignment(f"{KILL_SWITCH}={state}")
        return _set_or_clear(KILL_SWITCH, None if value == "off" else value)
    if step_type == "bedrock.clamp_max_tokens" and "max_tokens" in params:
        tokens = str(params["max_tokens"])
        return _set_or_clear(MAX_TOKENS, None if tokens == "default" else tokens)
    if step_type in ("bedrock.profile_switch", "bedrock.model_switch") and "pin" in params:
        pin = str(params["pin"])
        return _set_or_clear(PIN, None if pin == "none" else pin)
    if step_type == "tool.route" and "to_tool" in params and "tool" in params:
        target = str(params["to_tool"])
        return _set_or_clear(f"{TOOL_PREFIX}{params['tool']}", None if target == "none" else target)
    return None


def _set_or_clear(key: str, value: str | None) -> OpsAction:
    if value is None:
        return OpsAction("clear", {key: ""})
    key, value = parse_assignment(f"{key}={value}")
    return OpsAction("set", {key: value})
