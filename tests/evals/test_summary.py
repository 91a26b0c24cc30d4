"""results.json -> summary; known failures; baselines and regressions; the runner's command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import InputError
from agentkit.evals import runner
from agentkit.evals.summary import (
    SuiteSummary,
    judge,
    load_results,
    read_baseline,
    read_known_failures,
    regressions,
    summarise,
    write_summary,
)


def row(case: str, success: bool, **extra: Any) -> dict[str, Any]:
    return {
        "success": success,
        "testCase": {"description": case, "metadata": {"id": case, "category": "benign"}},
        "provider": {"id": "file://../provider.py", "label": "agentkit-dr-advisor"},
        "gradingResult": {"pass": success, "reason": "ok" if success else "refused\nmore"},
        **extra,
    }


def results(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"results": {"results": list(rows), "stats": {"successes": 0, "failures": 0}}}


def test_cases_pass_fail_or_error_and_categories_count_them() -> None:
    summary = summarise(
        results(
            row("a", True),
            row("b", False, failureReason=1),
            row("c", False, failureReason=2, error="provider crashed", gradingResult=None),
        ),
        "safety",
    )
    assert summary.cases == {"a": "pass", "b": "fail", "c": "error"}
    assert (summary.passed, summary.failed, summary.total) == (1, 2, 3)
    assert summary.categories == {"benign": {"passed": 1, "failed": 2}}
    assert summary.reasons == {"b": "refused", "c": "provider crashed"}


def test_a_provider_label_not_ours_prefixes_the_case_id() -> None:
    foreign = row("x", True)
    foreign["provider"] = {"id": "bedrock:converse:m", "label": "plain-us-east-1"}
    assert summarise(results(foreign), "model-path").cases == {"plain-us-east-1/x": "pass"}


def test_unreadable_results_are_one_line_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot read promptfoo results"):
        load_results(path, "dr-advisor")
    with pytest.raises(InputError, match=r"no results\.results list"):
        summarise({"results": {}}, "dr-advisor")


def test_known_failures_leave_the_exit_code_and_stale_ones_fail_the_gate(tmp_path: Path) -> None:
    listing = tmp_path / "known.txt"
    listing.write_text("# header\nsafety:b  # issue 11\nsafety:a\ndr-advisor:z\n\n")
    known = read_known_failures(listing)
    assert known == {"safety:b", "safety:a", "dr-advisor:z"}
    summary = SuiteSummary("safety", {"a": "pass", "b": "fail", "c": "fail"})
    verdict = judge(summary, 1.0, known)
    assert (verdict.failures, verdict.known, verdict.stale) == (["c"], ["b"], ["a"])
    assert not verdict.ok
    fixed = judge(SuiteSummary("safety", {"a": "fail", "b": "fail", "c": "pass"}), 1.0, known)
    assert fixed.ok
    assert fixed.pass_rate == 1.0
    listing.write_text("no-colon-here\n")
    with pytest.raises(InputError, match=":1: expected 'suite:case-id'"):
        read_known_failures(listing)


def test_the_threshold_is_a_pass_rate_over_the_counted_cases() -> None:
    summary = SuiteSummary("live", {"a": "pass", "b": "pass", "c": "pass", "d": "fail"})
    assert judge(summary, 0.7).pass_rate == 0.75
    assert not judge(summary, 0.7).ok  # any counted failure fails the gate
    assert not judge(SuiteSummary("live", {"a": "pass", "d": "fail"}), 0.9, {"live:d"}).stale


def test_baselines_round_trip_and_regressions_are_cases_that_passed_before(
    tmp_path: Path,
) -> None:
    old = SuiteSummary("dr-advisor", {"a": "pass", "b": "pass", "c": "fail", "gone": "pass"})
    write_summary(old, tmp_path / "dr-advisor.json")
    baseline = read_baseline(tmp_path, "dr-advisor")
    assert baseline is not None
    assert baseline.cases == old.cases
    assert read_baseline(tmp_path / "dr-advisor.json", "dr-advisor") is not None
    assert read_baseline(tmp_path, "safety") is None
    now = SuiteSummary("dr-advisor", {"a": "pass", "b": "fail", "c": "pass", "new": "fail"})
    assert regressions(now, baseline) == ["b", "gone"]
    (tmp_path / "bad.json").write_text(json.dumps({"suite": "x"}))
    with pytest.raises(InputError, match="'cases'"):
        read_baseline(tmp_path / "bad.json", "x")


def test_the_committed_baselines_are_summaries_of_the_suites() -> None:
    evals = runner.find_evals_dir(Path(__file__).resolve().parents[2] / "evals")
    suites = runner.load_suites(evals)
    for path in sorted((evals / "baselines").glob("*.json")):
        assert path.stem in suites
        baseline = read_baseline(path, path.stem)
        assert baseline is not None
        assert baseline.total > 0


def test_promptfoo_runs_offline_with_every_output_and_no_table(tmp_path: Path) -> None:
    evals = runner.find_evals_dir(Path(__file__).resolve().parents[2] / "evals")
    suite = runner.load_suites(evals)["dr-advisor"]
    command = runner.promptfoo_command(Path("promptfoo"), suite, tmp_path, "us-.*")
    for flag in ("--no-share", "--no-cache", "--no-table", "--no-write"):
        assert flag in command
    outputs = [command[i + 1] for i, part in enumerate(command) if part == "-o"]
    assert [Path(o).name for o in outputs] == ["results.json", "results.junit.xml", "report.html"]
    assert command[-2:] == ["--filter-pattern", "us-.*"]
    env = runner.promptfoo_env(evals)
    for key in (
        "PROMPTFOO_DISABLE_TELEMETRY",
        "PROMPTFOO_DISABLE_UPDATE",
        "PROMPTFOO_DISABLE_SHARING",
        "PROMPTFOO_DISABLE_RUNTIME_WARNINGS",
    ):
        assert env[key] == "1"
    assert env["PROMPTFOO_CONFIG_DIR"] == str(evals / ".promptfoo")


def test_suites_default_to_the_offline_ones_and_unknown_names_are_input_errors() -> None:
    evals = runner.find_evals_dir(Path(__file__).resolve().parents[2] / "evals")
    suites = runner.load_suites(evals)
    offline = [s.name for s in runner.select_suites(suites, [], live=False)]
    assert offline == ["dr-advisor", "safety", "resilience", "model-path", "mcp"]
    assert "live" in [s.name for s in runner.select_suites(suites, [], live=True)]
    with pytest.raises(InputError, match="unknown suite 'nope'"):
        runner.select_suites(suites, ["nope"], live=False)


def test_promptfoo_is_installed_from_the_lock_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_npm(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        binary = Path(kwargs["cwd"]) / "node_modules" / ".bin" / "promptfoo"
        binary.parent.mkdir(parents=True)
        binary.touch()
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(runner.shutil, "which", lambda name: "/usr/bin/npm")
    binary = runner.ensure_promptfoo(tmp_path, run=fake_npm, say=lambda _: None)
    assert binary.exists()
    assert calls == [["/usr/bin/npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]]
    assert runner.ensure_promptfoo(tmp_path, run=fake_npm) == binary  # no second install
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="npm is not on PATH"):
        runner.ensure_promptfoo(tmp_path / "empty", run=fake_npm)
