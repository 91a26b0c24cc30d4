"""agentkit's own tool implementations, by tool name (contracts live in the top-level tools/)."""

from __future__ import annotations

from agentkit.tools.registry import Implementation

BUILTIN: dict[str, Implementation] = {}
