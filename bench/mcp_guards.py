"""What the guards of ``agentkit mcp serve`` cost beside the tool call they guard.

    python -m bench.mcp_guards

The largest payloads agentkit's MCP server handles are FMEA worksheets: ``fmea_generate`` on
generated architectures of 100, 1,000 and 10,000 components (``bench.fmea``), given inline as
an MCP client would. Per size, in the same run: the CPU of the tool call through the registry
(the baseline), of checking the arguments (redaction and the injection check) and of redacting
the result, and the guards' share as a ratio of the call. Each measurement is the fastest of
three (CPU seconds: the machine is shared).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from agentkit.agents.tools import builtin_registry
from agentkit.guardrails.payloads import check_arguments, redact_payload
from bench.fmea import architecture


def fastest(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        cpu = time.process_time()
        result = work()
        best = min(best, time.process_time() - cpu)
    return best, result


def main(repeats: int = 3) -> None:
    registry = builtin_registry()
    header = ("components", "rows", "call s", "args s", "result s", "guards/call")
    print("{:>10} {:>7} {:>8} {:>8} {:>9} {:>12}".format(*header))
    try:
        with tempfile.TemporaryDirectory() as out_dir:
            for size in (100, 1_000, 10_000):
                arguments = {
                    "architecture": architecture(size),
                    "out_dir": out_dir,
                    "formats": ["json"],
                }
                call, result = fastest(
                    lambda a=arguments: registry.call("fmea_generate", a).output, repeats
                )
                check, _ = fastest(lambda a=arguments: check_arguments(a), repeats)
                redact, _ = fastest(lambda r=result: redact_payload(r), repeats)
                ratio = (check + redact) / call
                print(
                    f"{size:>10} {len(result['rows']):>7} {call:>8.3f} {check:>8.3f} "
                    f"{redact:>9.3f} {ratio:>11.2f}x"
                )
    finally:
        registry.close()


if __name__ == "__main__":
    main()
