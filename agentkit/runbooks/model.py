"""Runbooks as versioned, validated data: loading, the schema, and the semantic rules.

Rules beyond the JSON Schema (``runbooks/schema/runbook-v1.schema.json``): step ids are unique;
``depends_on``, ``rollback``, ``approval`` and ``after_step`` point at things that exist;
``depends_on`` has no cycle; a destructive step (``destructive: true``, or a type in
:data:`DESTRUCTIVE_TYPES` such as an Aurora failover with data loss) is gated by an approval;
``last_tested`` older than the limit is a warning; a changed runbook must bump its version
(checked against ``runbooks.lock.json``). The rules that need the
runbook's meaning (placeholders, data before traffic, the unreachable source Region, the strategy,
the RTO budget, the verification metrics) are in :mod:`agentkit.runbooks.rules`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from agentkit.dependencies import find_cycle
from agentkit.errors import InputError
from agentkit.paths import data_dir
from agentkit.runbooks import rules, timing
from agentkit.tools.contracts import semver
from agentkit.yamlsource import YamlDocument, read_json, read_yaml

LOCK_NAME = "runbooks.lock.json"
SCHEMA_PATH = Path("schema") / "runbook-v1.schema.json"
# One-way or lossy by nature: always behind an approval, whatever the file says.
DESTRUCTIVE_TYPES = frozenset(
    {
        "aurora.failover",
        "rds.promote_replica",
        "elasticache.failover_global",
        "secrets.promote_replica",
        "iam.revoke_sessions",
    }
)
STALE_AFTER_DAYS = 90


@dataclass(frozen=True)
class Runbook:
    doc: YamlDocument
    path: Path

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.doc.data)

    @property
    def id(self) -> str:
        return str(self.data["metadata"]["id"])

    @property
    def version(self) -> str:
        return str(self.data["metadata"]["version"])

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.data["spec"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.spec["steps"])

    @property
    def digest(self) -> str:
        return hashlib.sha256(
            json.dumps(self.data, sort_keys=True, default=str).encode()
        ).hexdigest()


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def runbook_dir() -> Path:
    return data_dir("runbooks")


def load_runbook(path: Path) -> Runbook:
    doc = read_yaml(path, InputError)
    if not isinstance(doc.data, dict):
        raise InputError(f"{path}:1: a runbook is a mapping with apiVersion, kind, metadata, spec")
    return Runbook(doc, path)


def load_all(root: Path | None = None) -> list[Runbook]:
    root = root or runbook_dir()
    return [load_runbook(path) for path in sorted(root.glob("*.yaml"))]


def _schema_validator(root: Path) -> Draft202012Validator:
    return Draft202012Validator(
        read_json(root / SCHEMA_PATH, InputError), format_checker=FormatChecker()
    )


def validate(
    runbook: Runbook,
    *,
    root: Path | None = None,
    lock: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> Report:
    root = root or runbook_dir()
    report = Report()
    for error in sorted(
        _schema_validator(root).iter_errors(runbook.data), key=lambda e: list(e.path)
    ):
        path = tuple(error.path)
        report.errors.append(f"{runbook.doc.where(path)}: {error.json_path}: {error.message}")
    if report.errors:
        return report  # the semantic rules assume the shape is right
    _check_references(runbook, report)
    _check_cycles(runbook, report)
    _check_gates(runbook, report)
    if not report.errors:  # the ordering rules assume the references and the graph are sound
        rules.check_data_before_traffic(runbook, report)
        timing.check_budget(runbook, report)
    rules.check_placeholders(runbook, report)
    rules.check_unreachable_source(runbook, report)
    rules.check_strategy(runbook, report)
    rules.check_verification(runbook, report)
    _check_freshness(runbook, report, today or dt.date.today())
    _check_lock(runbook, report, lock if lock is not None else read_lock(root))
    return report


def _where(runbook: Runbook, index: int) -> str:
    return runbook.doc.where(("spec", "steps", index))


def _check_references(runbook: Runbook, report: Report) -> None:
    ids = [step["id"] for step in runbook.steps]
    approvals = {a["id"] for a in runbook.spec["approvals"]}
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        report.errors.append(f"{runbook.path}: step id {duplicate!r} is used more than once")
    for index, step in enumerate(runbook.steps):
        for target in step.get("depends_on", []):
            if target not in ids:
                report.errors.append(
                    f"{_where(runbook, index)}: {step['id']} depends on unknown step {target!r}"
                )
        if "rollback" in step and step["rollback"] not in ids:
            report.errors.append(
                f"{_where(runbook, index)}: {step['id']} rolls back to unknown step "
                f"{step['rollback']!r}"
            )
        if "approval" in step and step["approval"] not in approvals:
            report.errors.append(
                f"{_where(runbook, index)}: {step['id']} names unknown approval "
                f"{step['approval']!r}"
            )
    for check in runbook.spec["verification"]:
        if "after_step" in check and check["after_step"] not in ids:
            report.errors.append(
                f"{runbook.path}: verification {check['id']} follows unknown step "
                f"{check['after_step']!r}"
            )


def _check_cycles(runbook: Runbook, report: Report) -> None:
    cycle = find_cycle({step["id"]: step.get("depends_on", []) for step in runbook.steps})
    if cycle:
        report.errors.append(f"{runbook.path}: depends_on cycle: {' -> '.join(cycle)}")


def _check_gates(runbook: Runbook, report: Report) -> None:
    by_id = {step["id"]: step for step in runbook.steps}
    for index, step in enumerate(runbook.steps):
        if not (step.get("destructive") or step["type"] in DESTRUCTIVE_TYPES):
            continue
        gated = "approval" in step or any(
            by_id[a]["type"] == "approval" for a in rules.ancestors(runbook.steps, step["id"])
        )
        if not gated:
            report.errors.append(
                f"{_where(runbook, index)}: destructive step {step['id']} ({step['type']}) "
                "is not gated "
                "by an approval: add `approval: <id>` or depend on an approval step"
            )


def _check_freshness(runbook: Runbook, report: Report, today: dt.date) -> None:
    tested = dt.date.fromisoformat(str(runbook.data["metadata"]["last_tested"]))
    age = (today - tested).days
    if age > STALE_AFTER_DAYS:
        report.warnings.append(
            f"{runbook.id}: last tested {age} days ago (more than {STALE_AFTER_DAYS}); "
            "schedule a game day"
        )


def read_lock(root: Path) -> dict[str, Any]:
    path = root / LOCK_NAME
    return dict(read_json(path, InputError)) if path.exists() else {}


def _check_lock(runbook: Runbook, report: Report, lock: dict[str, Any]) -> None:
    entry = lock.get(runbook.id)
    if entry is None:
        report.warnings.append(
            f"{runbook.id}: not in {LOCK_NAME}; run `agentkit runbook lock` to record it"
        )
        return
    if semver(runbook.version) < semver(entry["version"]):
        report.errors.append(
            f"{runbook.id}: version {runbook.version} is older than the locked {entry['version']}"
        )
    elif runbook.version == entry["version"] and runbook.digest != entry["sha256"]:
        report.errors.append(
            f"{runbook.id}: content changed without a version bump (still {runbook.version}); "
            "published versions are immutable"
        )


def lock_entries(runbooks: list[Runbook]) -> dict[str, Any]:
    return {
        rb.id: {"version": rb.version, "sha256": rb.digest}
        for rb in sorted(runbooks, key=lambda r: r.id)
    }
