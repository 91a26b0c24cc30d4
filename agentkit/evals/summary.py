"""promptfoo ``results.json`` -> one summary per suite; known failures; regressions.

A summary is also the baseline format (``evals/baselines/<suite>.json``)::

    {"suite": "safety", "passed": 140, "failed": 2, "total": 142,
     "categories": {"benign": {"passed": 74, "failed": 1}, ...},
     "cases": {"benign:001": "pass", "attack:en-dan": "fail", ...}}

A case is ``pass``, ``fail`` (an assertion failed) or ``error`` (the provider failed); ``failed``
counts both, as CI should.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.errors import InputError

PASS, FAIL, ERROR = "pass", "fail", "error"
FAILURE_REASON_ERROR = 2  # promptfoo's ResultFailureReason.ERROR


@dataclass(frozen=True)
class SuiteSummary:
    suite: str
    cases: dict[str, str]
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # why each failing case failed

    @property
    def passed(self) -> int:
        return sum(1 for status in self.cases.values() if status == PASS)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    @property
    def total(self) -> int:
        return len(self.cases)

    def failing(self) -> list[str]:
        return [case for case, status in self.cases.items() if status != PASS]

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "passed": self.passed,
            "failed": self.failed,
            "total": self.total,
            "categories": self.categories,
            "cases": dict(sorted(self.cases.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SuiteSummary:
        cases = data.get("cases")
        if not isinstance(cases, Mapping) or not isinstance(data.get("suite"), str):
            raise InputError("a suite summary needs 'suite' and a 'cases' mapping")
        return cls(str(data["suite"]), {str(k): str(v) for k, v in cases.items()})


def _case_id(result: Mapping[str, Any]) -> str:
    test = result.get("testCase") or {}
    metadata = test.get("metadata") or {}
    case = metadata.get("id") or test.get("description") or f"test-{result.get('testIdx')}"
    provider = (result.get("provider") or {}).get("label")
    return str(case) if not provider or provider.startswith("agentkit") else f"{provider}/{case}"


def _status(result: Mapping[str, Any]) -> str:
    if result.get("success"):
        return PASS
    if result.get("failureReason") == FAILURE_REASON_ERROR:
        return ERROR
    if result.get("error") and not result.get("gradingResult"):
        return ERROR
    return FAIL


def summarise(results: Mapping[str, Any], suite: str) -> SuiteSummary:
    """The summary of one promptfoo ``results.json`` document."""
    body = results.get("results")
    rows = body.get("results") if isinstance(body, Mapping) else None
    if not isinstance(rows, list):
        raise InputError(f"{suite}: results.json has no results.results list")
    cases: dict[str, str] = {}
    categories: dict[str, dict[str, int]] = {}
    reasons: dict[str, str] = {}
    for row in rows:
        case, status = _case_id(row), _status(row)
        cases[case] = status
        category = ((row.get("testCase") or {}).get("metadata") or {}).get("category")
        if category:
            counts = categories.setdefault(str(category), {"passed": 0, "failed": 0})
            counts["passed" if status == PASS else "failed"] += 1
        if status != PASS:
            reason = row.get("error") or (row.get("gradingResult") or {}).get("reason") or ""
            reasons[case] = str(reason).splitlines()[0][:300] if reason else status
    return SuiteSummary(suite, cases, categories, reasons)


def load_results(path: Path, suite: str) -> SuiteSummary:
    try:
        return summarise(json.loads(path.read_text(encoding="utf-8")), suite)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read promptfoo results: {error}") from None


# -- known failures ------------------------------------------------------------------------------


def read_known_failures(path: Path) -> set[str]:
    """``suite:case-id`` per line; ``#`` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    known = set()
    for number, line in enumerate(lines, start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if ":" not in entry:
            raise InputError(f"{path}:{number}: expected 'suite:case-id', got {entry!r}")
        known.add(entry)
    return known


@dataclass(frozen=True)
class Verdict:
    """One suite against the gate: failures that count, known ones, and stale known entries."""

    summary: SuiteSummary
    threshold: float
    failures: list[str]
    known: list[str]
    stale: list[str]  # listed as known failures, but passing now: remove them from the list

    @property
    def counted(self) -> int:
        return self.summary.total - len(self.known)

    @property
    def pass_rate(self) -> float:
        return 1.0 if self.counted == 0 else (self.counted - len(self.failures)) / self.counted

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stale and self.pass_rate >= self.threshold


def judge(summary: SuiteSummary, threshold: float, known: Iterable[str] = ()) -> Verdict:
    mine = {k.split(":", 1)[1] for k in known if k.split(":", 1)[0] == summary.suite}
    failing = summary.failing()
    return Verdict(
        summary,
        threshold,
        failures=[c for c in failing if c not in mine],
        known=[c for c in failing if c in mine],
        stale=sorted(c for c in mine if summary.cases.get(c) == PASS),
    )


# -- baselines -----------------------------------------------------------------------------------


def read_baseline(path: Path, suite: str) -> SuiteSummary | None:
    """The baseline for ``suite``: ``path`` is a summary file or a directory of them."""
    file = path / f"{suite}.json" if path.is_dir() else path
    if not file.is_file():
        return None
    try:
        baseline = SuiteSummary.from_json(json.loads(file.read_text(encoding="utf-8")))
    except ValueError as error:
        raise InputError(f"{file}: not a suite summary: {error}") from None
    return baseline if baseline.suite == suite else None


def regressions(current: SuiteSummary, baseline: SuiteSummary) -> list[str]:
    """Cases that passed in the baseline and fail now, or are gone."""
    return sorted(
        case
        for case, status in baseline.cases.items()
        if status == PASS and current.cases.get(case) != PASS
    )


def write_summary(summary: SuiteSummary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
