"""Operator overrides: a kill switch, a route pin, a ``max_tokens`` clamp and tool re-routes that
an operator sets with ``agentkit ops set`` and every worker obeys within ``ops.poll_s``
(docs/ops.md).

It sits beside resilience and telemetry, below the gateway and the runtime, which read it through
:func:`current`; ``agentkit serve`` installs the view of the document ``ops:`` in agentkit.yaml
names with :func:`open_view`. The names below load on first use, so that importing
:mod:`agentkit.ops.steps` (``runbook plan``) costs no OpenTelemetry import.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from agentkit.config import AgentkitConfig
    from agentkit.ops.active import OverrideView, current, install, installed
    from agentkit.ops.document import (
        ATTRIBUTE,
        NONE,
        STOP_REASON,
        KillSwitchOn,
        OpsError,
        Overrides,
        parse_assignment,
    )

__all__ = [
    "ATTRIBUTE",
    "NONE",
    "STOP_REASON",
    "KillSwitchOn",
    "OpsError",
    "OverrideView",
    "Overrides",
    "current",
    "install",
    "installed",
    "obeyed",
    "open_view",
    "parse_assignment",
]

_ACTIVE = ("OverrideView", "current", "install", "installed")


def __getattr__(name: str) -> Any:
    if name not in __all__ or name in ("obeyed", "open_view"):
        raise AttributeError(f"module 'agentkit.ops' has no attribute {name!r}")
    module = "agentkit.ops.active" if name in _ACTIVE else "agentkit.ops.document"
    return getattr(importlib.import_module(module), name)


def open_view(
    config: AgentkitConfig, *, meter_provider: MeterProvider | None = None
) -> OverrideView:
    """The view of the control document ``ops:`` in agentkit.yaml names."""
    from agentkit.ops.active import OverrideView
    from agentkit.ops.store import open_store

    return OverrideView(open_store(config), poll_s=config.ops.poll_s, meter_provider=meter_provider)


@contextlib.contextmanager
def obeyed(config: AgentkitConfig) -> Iterator[OverrideView]:
    """The overrides of the document ``config`` names apply for the block (one command's run)."""
    from agentkit.ops.active import installed

    view = open_view(config)
    try:
        with installed(view):
            yield view
    finally:
        view.close()
