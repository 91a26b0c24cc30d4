"""The runbook action Lambda (``agentkit-runbook-action``): applies an ARC step's operator override.

The ARC Region switch export (:mod:`agentkit.runbooks.arc`) sends each agentkit step to this
function with the JSON payload ``{"step", "type", "params", "ops"}``; Region switch merges its
execution metadata (``InvokedBy``, ``PlanArn``, ``ExecutionId``, ``StepName``) into the top level
(botocore's ``arc-region-switch`` model, ``Lambdas.payload``). :func:`handler` applies ``"ops"``
(:meth:`agentkit.ops.steps.OpsAction.to_json`) to the control document of the backend the
packaged ``agentkit.yaml`` names (``ops:``: Redis or AppConfig, the fleet's; a file backend
only off Lambda, e.g. locally), exactly as ``agentkit ops set`` / ``clear`` would, with the audit
line's ``by`` naming the plan execution. It returns what the document holds now.

Region switch re-runs a custom action that does not succeed within its retry interval, until the
step's timeout; so every failure raises (the invocation fails) rather than returning a result
that would let the plan go on: a payload without ``"ops"`` (a step type no override carries out:
give the step a ``function`` param naming the Lambda that does), a value ``agentkit ops`` would
refuse, a backend that cannot be reached, or the file backend on Lambda (its /tmp is the
container's own: no worker would see the change). Applying the same payload twice is harmless.

Configuration (the function's environment): ``AGENTKIT_CONFIG``, the agentkit.yaml packaged with
the function (default ``agentkit.yaml`` beside the handler, in ``LAMBDA_TASK_ROOT``).
``AGENTKIT_HOME`` defaults to ``/tmp/agentkit`` on Lambda (the only writable place) for the local
audit file; the audit line is also logged (CloudWatch Logs), kept in Redis' audit list or in the
AppConfig version's description.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.ops.changes import change
from agentkit.ops.document import PIN, OpsError
from agentkit.ops.steps import OpsAction

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig

_log = logging.getLogger("agentkit.ops.lambda")
CONFIG_VARIABLE = "AGENTKIT_CONFIG"
LAMBDA_HOME = "/tmp/agentkit"  # Lambda's only writable directory


class NotAnOverride(OpsError):
    """The step reached the action Lambda but no operator override carries it out."""


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Apply the override of one ARC custom-action step; raise when it cannot be applied."""
    from agentkit.config import load_config
    from agentkit.ops.store import open_store

    action = action_of(event)
    _lambda_home()
    config = load_config(config_path(), check_residency=False)
    _check_backend(config)
    _check_pin(config, action)
    made = (
        change(action.fields, by=invoked_by(event))
        if action.action == "set"
        else change({}, list(action.fields), by=invoked_by(event))
    )
    store = open_store(config)
    try:
        now = store.update(made)
    finally:
        store.close()
    _log.warning("runbook action applied: %s", made.audit_line(store.where))
    return {
        "step": event.get("step"),
        "type": event.get("type"),
        "applied": action.to_json(),
        "overrides": now.fields(),
        "where": store.where,
        "by": made.by,
        "at": made.at,
    }


def action_of(event: Mapping[str, Any]) -> OpsAction:
    """The payload's override, or :class:`NotAnOverride` naming the step."""
    if not isinstance(event, Mapping):
        raise NotAnOverride(f"the event is {type(event).__name__}, not a JSON object payload")
    if "ops" not in event:
        step = f"{event.get('step', '?')} ({event.get('type', '?')})"
        raise NotAnOverride(
            f"step {step}: no operator override carries it out; give the step a function "
            "param naming the Lambda that does"
        )
    return OpsAction.from_json(event["ops"])


def invoked_by(event: Mapping[str, Any]) -> str:
    """The audit line's ``by``: the Region switch execution and step, else the step id."""
    execution = event.get("ExecutionId")
    step = event.get("StepName") or event.get("step") or "?"
    if execution:
        return f"arc-region-switch:{execution}:{step}"[:200]
    return f"runbook-action:{step}"[:200]


def config_path() -> Path:
    named = os.environ.get(CONFIG_VARIABLE)
    if named:
        return Path(named)
    return Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / "agentkit.yaml"


def _on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ  # set by the Lambda runtime


def _lambda_home() -> None:
    if _on_lambda():  # on Lambda: only /tmp is writable
        os.environ.setdefault("AGENTKIT_HOME", LAMBDA_HOME)


def _check_backend(config: AgentkitConfig) -> None:
    """On Lambda a file document is this one container's /tmp, which no worker reads: applying
    it there would report success and change nothing."""
    if _on_lambda() and config.ops.backend == "file":
        raise OpsError(
            f"{config_path()}: ops.backend is file, which on Lambda is this container's /tmp "
            "and no worker reads it; set ops.backend to redis or appconfig (the fleet's document)"
        )


def _check_pin(config: AgentkitConfig, action: OpsAction) -> None:
    pin = action.fields.get(PIN) if action.action == "set" else None
    routes = config.models.routes
    if pin is not None and not any(pin in (r.model, r.region, r.name) for r in routes):
        raise OpsError(
            f"pin={pin}: names no route of {config_path()}; a worker would ignore the pin"
        )
