"""promptfoo prompt function: agentkit's DR advisor prompts, rendered as the workflow does."""

from __future__ import annotations

import json
from typing import Any

from agentkit.prompts import load_prompt


def dr_advisor(context: dict[str, Any]) -> str:
    """The system prompt of the step named in ``vars.prompt`` plus the question, as messages."""
    variables = context["vars"]
    step = variables["prompt"]
    prompt = load_prompt(f"dr_advisor.{step}")
    if step == "extract":
        system = prompt.render(history="(nothing)")
    else:
        tool_results = json.loads(variables["tool_results"])
        system = prompt.render(tool_results=json.dumps(tool_results, indent=1, sort_keys=True))
    return json.dumps(
        [{"role": "system", "content": system}, {"role": "user", "content": variables["question"]}]
    )
