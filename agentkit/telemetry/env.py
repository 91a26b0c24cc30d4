"""OpenTelemetry environment switches that must be read without importing OpenTelemetry."""

from __future__ import annotations

import os
from collections.abc import Mapping


def sdk_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """``OTEL_SDK_DISABLED=true``: the standard switch that turns the SDK into no-ops."""
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
