"""Run the promptfoo suites in ``evals/``: install promptfoo, start the emulator, run, summarise.

promptfoo runs offline: telemetry, update checks and sharing off, its state in a repo-local
directory, no cache. Each suite writes ``results.json``, ``results.junit.xml``, ``report.html``
(promptfoo's) and ``summary.json`` (ours, the baseline format) under ``OUT/<suite>/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import AgentkitError, InputError
from agentkit.evals.summary import SuiteSummary, load_results, write_summary

PROMPTFOO_VERSION = "0.121.20"
OFFLINE_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",
    "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_DISABLE_SHARING": "1",
    "PROMPTFOO_DISABLE_RUNTIME_WARNINGS": "1",
}
EXIT_FAILED_TESTS = 100  # promptfoo: at least one assertion failure or provider error
EMULATOR_REGIONS = ("us-east-1", "us-west-2")
# Only for the SDK inside promptfoo talking to the loopback emulator, which checks no signature.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "emulator",
    "AWS_SECRET_ACCESS_KEY": "emulator",
    "AWS_SESSION_TOKEN": "emulator",
    "AWS_REGION": "us-east-1",
}


class PromptfooFailed(AgentkitError):
    """promptfoo could not run a suite (not a failed case: no results were written)."""


@dataclass(frozen=True)
class Suite:
    name: str
    config: Path
    threshold: float = 1.0
    emulator: bool = False  # the runner starts a Bedrock emulator and exports its endpoints
    live: bool = False  # real Bedrock: only with --live and AWS credentials
    protects: str = ""


def find_evals_dir(explicit: Path | None = None) -> Path:
    candidates = [explicit] if explicit else [Path.cwd() / "evals"]
    if not explicit:
        candidates.append(Path(__file__).resolve().parents[2] / "evals")
    for candidate in candidates:
        if candidate is not None and (candidate / "suites.yaml").is_file():
            return candidate.resolve()
    raise InputError(
        "no evals/ folder with suites.yaml here: run from the agentkit repository or pass "
        "--evals-dir"
    )


def load_suites(evals_dir: Path) -> dict[str, Suite]:
    from agentkit.yamlsource import read_yaml

    data = read_yaml(evals_dir / "suites.yaml", InputError).data or {}
    suites = {}
    for name, given in data.items():
        spec = given or {}
        suites[name] = Suite(
            name=name,
            config=evals_dir / name / "promptfooconfig.yaml",
            threshold=float(spec.get("threshold", 1.0)),
            emulator=bool(spec.get("emulator", False)),
            live=bool(spec.get("live", False)),
            protects=str(spec.get("protects", "")),
        )
    return suites


def select_suites(suites: Mapping[str, Suite], names: list[str], live: bool) -> list[Suite]:
    unknown = [n for n in names if n not in suites]
    if unknown:
        raise InputError(f"unknown suite {unknown[0]!r}; choose from {', '.join(suites)}")
    if names:
        return [suites[n] for n in names]
    return [s for s in suites.values() if not s.live or live]


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def ensure_promptfoo(
    evals_dir: Path, *, run: Runner = subprocess.run, say: Callable[[str], None] = print
) -> Path:
    """``evals/node_modules/.bin/promptfoo``, installed from the lock file when missing."""
    binary = evals_dir / "node_modules" / ".bin" / "promptfoo"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise InputError("promptfoo is not installed and npm is not on PATH: install Node 20+")
    say(f"installing promptfoo {PROMPTFOO_VERSION} in {evals_dir} (npm, 1-3 minutes)...")
    done = run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=evals_dir,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not binary.exists():
        raise PromptfooFailed(f"npm install in {evals_dir} failed (exit {done.returncode})")
    return binary


def promptfoo_env(evals_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env["PROMPTFOO_CONFIG_DIR"] = str(evals_dir / ".promptfoo")
    env["PROMPTFOO_PYTHON"] = sys.executable  # the Python that has agentkit installed
    env.update(extra or {})
    return env


def endpoint_env(endpoints: Mapping[str, str]) -> dict[str, str]:
    """``AGENTKIT_EVAL_ENDPOINT_US_EAST_1=http://127.0.0.1:...`` per Region."""
    return {
        "AGENTKIT_EVAL_ENDPOINT_" + region.upper().replace("-", "_"): url
        for region, url in endpoints.items()
    }


@contextmanager
def emulator_for(evals_dir: Path) -> Iterator[dict[str, str]]:
    """A loopback emulator for suites whose provider is promptfoo's own (model-path)."""
    from agentkit.emulator import Emulator
    from agentkit.emulator.cli import load_file
    from agentkit.emulator.guardrails import GuardrailCatalog, GuardrailRegistry

    catalog = load_file(GuardrailCatalog, evals_dir / "data" / "guardrails.yaml")
    emulator = Emulator(list(EMULATOR_REGIONS), guardrails=GuardrailRegistry(catalog)).start()
    try:
        env = {**endpoint_env(emulator.endpoints), **EMULATOR_CREDENTIALS}
        env["AGENTKIT_EVAL_CONTROL"] = emulator.control_url
        yield env
    finally:
        emulator.stop()


def promptfoo_command(
    binary: Path, suite: Suite, out: Path, filter_pattern: str | None = None
) -> list[str]:
    command = [str(binary), "eval", "-c", str(suite.config), "--no-share", "--no-cache"]
    command += ["--no-table", "--no-progress-bar", "--no-write"]  # no eval history to grow
    for name in ("results.json", "results.junit.xml", "report.html"):
        command += ["-o", str(out / name)]
    if filter_pattern:
        command += ["--filter-pattern", filter_pattern]
    return command


def run_suite(
    suite: Suite,
    out_root: Path,
    binary: Path,
    env: Mapping[str, str],
    *,
    filter_pattern: str | None = None,
    run: Runner = subprocess.run,
) -> SuiteSummary:
    if not suite.config.is_file():
        raise InputError(f"{suite.name}: no {suite.config}")
    out = out_root / suite.name
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("results.json", "results.junit.xml", "report.html", "summary.json"):
        (out / stale).unlink(missing_ok=True)
    log = out / "promptfoo.log"
    with log.open("w", encoding="utf-8") as fh:
        done = run(
            promptfoo_command(binary, suite, out, filter_pattern),
            cwd=suite.config.parent,
            env=dict(env),
            stdout=fh,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    results = out / "results.json"
    if done.returncode not in (0, EXIT_FAILED_TESTS) or not results.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise PromptfooFailed(
            f"{suite.name}: promptfoo exited {done.returncode} without results "
            f"(log: {log}): {' | '.join(tail)}"
        )
    summary = load_results(results, suite.name)
    write_summary(summary, out / "summary.json")
    return summary


def live_credentials() -> bool:
    from agentkit.bedrock.clients import credentials_found

    return bool(credentials_found())


def suite_env(suite: Suite, evals_dir: Path, stack: Any) -> dict[str, str]:
    """Extra environment for ``suite``: the emulator's endpoints when it needs one."""
    if suite.emulator:
        return dict(stack.enter_context(emulator_for(evals_dir)))
    return {}
