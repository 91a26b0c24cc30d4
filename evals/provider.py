"""promptfoo Python provider: the DR advisor in-process, warm (one advisor per worker).

promptfoo loads this module once per worker and calls ``call_api(prompt, options, context)``;
the work is in :mod:`agentkit.evals.driver` (typed and tested with the package). The output is
the object ``agentkit ask --json`` prints; the metadata holds the tool calls, the Region, the
degraded flag, the trace id and the spans. Run promptfoo with the Python that has agentkit
installed: ``PROMPTFOO_PYTHON=.venv/bin/python`` (``agentkit eval`` sets it).
"""

from __future__ import annotations

from typing import Any

from agentkit.evals.driver import call_api as _call_api


def call_api(prompt: str, options: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return _call_api(prompt, options, context)
