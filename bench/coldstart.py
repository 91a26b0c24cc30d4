"""Cold start of the CLI, each command in a fresh process, against Python's own start-up.

    python -m bench.coldstart [--runs 7]

Targets (issue 12): ``agentkit --help`` <= 0.3 s and ``agentkit fmea`` on a small architecture
<= 1 s on this machine. Medians of ``--runs`` runs; the baseline ``python -c pass`` is measured in
the same run, so a loaded machine shows as a high baseline, not as a regression.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENTKIT = [sys.executable, "-m", "agentkit"]


def median_s(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        cases = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "agentkit --help": [*AGENTKIT, "--help"],
            "agentkit --version": [*AGENTKIT, "--version"],
            "agentkit fmea (small, --no-model)": [
                *AGENTKIT,
                "fmea",
                "examples/three-tier-single-az.yaml",
                "--out",
                out,
                "--no-model",
            ],
            "agentkit capacity --json": [*AGENTKIT, "capacity", "--json"],
        }
        results = {name: median_s(command, args.runs) for name, command in cases.items()}
    baseline = results["python -c pass (baseline)"]
    targets = {"agentkit --help": 0.3, "agentkit fmea (small, --no-model)": 1.0}
    print(f"cold start, median of {args.runs} fresh processes:")
    for name, seconds in results.items():
        target = f"  (target <= {targets[name]:g} s)" if name in targets else ""
        print(f"  {name:36s} {seconds:6.3f} s  {seconds / baseline:5.1f}x baseline{target}")


if __name__ == "__main__":
    main()
