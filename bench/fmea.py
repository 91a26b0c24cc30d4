"""FMEA engine cost for generated architectures of 100, 1,000 and 10,000 components.

    python -m bench.fmea

Each size is loaded, validated, scored with catalogue v2 (initial and revised ratings, a quarter of
the components listing controls) and rendered to JSON and Markdown. Targets: 1,000 components in
under 2 s and 10,000 in under 4 s, growing linearly (the last column, time per component relative
to 100, stays near 1 or below). CPU seconds are shown too: on a shared machine wall time also
measures the neighbours, so each size runs three times and the fastest run is shown.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from agentkit.fmea.run import analyse

KINDS = [
    "rds",
    "ecs",
    "lambda",
    "dynamodb",
    "s3",
    "alb",
    "elasticache",
    "mcp-tool",
    "bedrock-model",
    "knowledge-base",
]


def architecture(size: int) -> dict[str, object]:
    components = []
    for i in range(size):
        component: dict[str, object] = {
            "id": f"c{i}",
            "kind": KINDS[i % len(KINDS)],
            "multi_az": i % 3 == 0,
        }
        if i % 4 == 0:
            component["mitigations"] = ["alarms", "circuit_breaker"]
        if i >= 10:
            component["depends_on"] = [f"c{i - 10}", f"c{i - 7}"]  # a layered graph
        components.append(component)
    return {
        "apiVersion": "agentkit/architecture/v1",
        "workload": {"name": f"synthetic-{size}"},
        "regions": ["us-east-1"],
        "components": components,
    }


def main(repeats: int = 3) -> None:
    """Each size ``repeats`` times; the fastest run counts (the others measured neighbours)."""
    with tempfile.TemporaryDirectory() as folder:
        timings: dict[int, tuple[float, float, int]] = {}
        for size in (100, 1_000, 10_000):
            path = Path(folder) / f"arch-{size}.yaml"
            path.write_text(yaml.safe_dump(architecture(size)))
            for _ in range(repeats):
                start, cpu = time.perf_counter(), time.process_time()
                outcome = analyse(path, formats=("json", "md"))
                run = (
                    time.perf_counter() - start,
                    time.process_time() - cpu,
                    len(outcome.report["rows"]),
                )
                timings[size] = min(timings.get(size, run), run)
    per_component_100 = timings[100][0] / 100
    print(
        f"{'components':>10} {'rows':>7} {'seconds':>9} {'cpu s':>7} {'per component vs 100':>22}"
    )
    for size, (seconds, cpu_seconds, rows) in timings.items():
        ratio = (seconds / size) / per_component_100
        print(f"{size:>10} {rows:>7} {seconds:>9.3f} {cpu_seconds:>7.3f} {ratio:>21.2f}x")
    print(f"1,000 components in {timings[1_000][0]:.3f} s (target < 2 s)")
    print(f"10,000 components in {timings[10_000][0]:.3f} s (target < 4 s)")


if __name__ == "__main__":
    main()
