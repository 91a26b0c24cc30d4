"""agentkit's own tool implementations, by tool name (contracts live in the top-level tools/)."""

from __future__ import annotations

from agentkit.agents.dr.advisor import advise, check_request
from agentkit.runbooks.tool import find_runbooks
from agentkit.tools.registry import Implementation

BUILTIN: dict[str, Implementation] = {
    "dr_advisor": Implementation(advise, check_request=check_request),
    "failover_runbook": Implementation(find_runbooks),
}
