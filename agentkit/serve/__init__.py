"""Long-running entry points: agentkit's turns over HTTP and its tools over MCP."""

from __future__ import annotations

import logging

log = logging.getLogger("agentkit.serve")


def public_message(error: BaseException) -> str:
    """What a client is told of a failed request: an agentkit error's own message, on one line
    and redacted; for anything else only its type (the details go to the server log)."""
    from agentkit.errors import AgentkitError

    if isinstance(error, AgentkitError):
        from agentkit.cli.errors import one_line
        from agentkit.guardrails.pii import redact

        return redact(one_line(str(error))).text
    log.error("a request failed", exc_info=error)
    return f"internal error ({type(error).__name__}); the server log has the details"
