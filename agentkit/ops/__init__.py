"""Operator overrides: a kill switch, a route pin, a ``max_tokens`` clamp and tool re-routes that
an operator sets with ``agentkit ops set`` and every worker obeys within ``ops.poll_s``
(docs/ops.md).

It sits beside resilience and telemetry, below the gateway and the runtime, which read it through
:func:`current`; the entry points (``agentkit serve``, ``ask``, ``chat``) install the view of the
document ``ops:`` in agentkit.yaml names with :func:`open_view`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from agentkit.config import AgentkitConfig

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
    "open_view",
    "parse_assignment",
]


def open_view(
    config: AgentkitConfig, *, meter_provider: MeterProvider | None = None
) -> OverrideView:
    """The view of the control document ``ops:`` in agentkit.yaml names."""
    from agentkit.ops.store import open_store

    return OverrideView(open_store(config), poll_s=config.ops.poll_s, meter_provider=meter_provider)
