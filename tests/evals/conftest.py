"""Shared helpers: the eval's modules (evals/cases.py, evals/checks.py), an in-process run."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EVALS = Path(__file__).resolve().parents[2] / "evals"
PROMPTFOO = EVALS / "node_modules" / ".bin" / "promptfoo"


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"agentkit_evals_{name}", EVALS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = load_module("cases")
checks = load_module("checks")

Check = Callable[[Any, dict[str, Any]], dict[str, Any]]


def run_in_process(
    tests: list[dict[str, Any]], check: Check, config: dict[str, Any]
) -> dict[str, str]:
    """Each test through a fresh driver (as promptfoo's provider would) and its check:
    ``{case id: problems}`` for the failing ones."""
    from agentkit.evals.driver import new_driver

    driver = new_driver(config)
    failures: dict[str, str] = {}
    try:
        for test in tests:
            response = driver.call(test["vars"]["question"], {"test": test})
            context = {"test": test, "providerResponse": response}
            verdict = check(response["output"], context)
            if not verdict["pass"]:
                failures[test["metadata"]["id"]] = verdict["reason"]
    finally:
        driver.close()
    return failures


def promptfoo_required() -> bool:
    return os.environ.get("AGENTKIT_REQUIRE_PROMPTFOO") == "1"


@pytest.fixture
def promptfoo() -> Path:
    """The installed promptfoo; skipped without it, except in CI (AGENTKIT_REQUIRE_PROMPTFOO=1)."""
    if not PROMPTFOO.exists():
        if promptfoo_required():
            pytest.fail(f"AGENTKIT_REQUIRE_PROMPTFOO=1 but {PROMPTFOO} is missing")
        pytest.skip("promptfoo is not installed: npm install --prefix evals --no-audit --no-fund")
    return PROMPTFOO
