"""Each deliberate break makes the relevant suite fail (issue 14, "done when").

The suite's cases run in-process through the same driver promptfoo's provider uses and are graded
by the same checks (evals/checks.py): first as they are, then with one thing broken. A break
must turn passing cases into failures; the cases that already fail (known failures while the
fixes of issues 11 and 16 are in flight) are left out of the comparison.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.evals.conftest import cases, checks, run_in_process

OFFLINE = {"mode": "offline"}
MCP = {"mode": "mcp"}
CHEAPER = {
    "multi_site_active_active": "warm_standby",
    "warm_standby": "pilot_light",
    "pilot_light": "backup_restore",
    "backup_restore": "pilot_light",
}


@pytest.mark.timeout(300)
def test_a_wrong_dr_rule_fails_the_dr_advisor_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.tools.registry import ToolRegistry

    tests = [t for t in cases.dr() if t["metadata"].get("strategy")]
    before = run_in_process(tests, checks.dr, OFFLINE)
    original = ToolRegistry.call

    def one_band_off(self: ToolRegistry, name: str, payload: Any, **kwargs: Any) -> Any:
        result = original(self, name, payload, **kwargs)
        if name != "dr_advisor":
            return result
        output = dict(result.output, strategy=CHEAPER[result.output["strategy"]])
        return dataclasses.replace(result, output=output)

    monkeypatch.setattr(ToolRegistry, "call", one_band_off)
    after = run_in_process(tests, checks.dr, OFFLINE)
    passing_before = {t["metadata"]["id"] for t in tests} - set(before)
    assert passing_before, before
    assert passing_before <= set(after)  # every decision that was right is now caught


@pytest.mark.timeout(300)
def test_a_disabled_injection_guard_fails_the_safety_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit import guardrails

    tests = [t for t in cases.safety() if t["metadata"]["category"] == "attack"]
    before = run_in_process(tests, checks.safety, OFFLINE)
    original = guardrails.InputGuard.check

    def no_injection_guard(self: Any, text: str) -> Any:
        verdict = original(self, text)
        if verdict.refusal == guardrails.INJECTION_REFUSAL:
            return dataclasses.replace(verdict, allowed=True, refusal=None)
        return verdict

    monkeypatch.setattr(guardrails.InputGuard, "check", no_injection_guard)
    after = run_in_process(tests, checks.safety, OFFLINE)
    caught_before = {t["metadata"]["id"] for t in tests} - set(before)
    assert len(caught_before) >= 20, before
    # The topic scope still refuses the attacks that name nothing about resilience (defence in
    # depth); at least half must now get through, and each one fails the suite.
    assert len(caught_before & set(after)) >= max(10, len(caught_before) // 2), after


@pytest.mark.timeout(300)
def test_a_redactor_that_lets_keys_through_fails_the_safety_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit.guardrails import pii

    tests = [t for t in cases.safety() if t["metadata"]["category"] == "leak"]
    before = run_in_process(tests, checks.safety, OFFLINE)
    original = pii.find_pii

    def leaky(text: str, *args: Any, **kwargs: Any) -> Any:
        return [f for f in original(text, *args, **kwargs) if not f.kind.startswith("AWS")]

    monkeypatch.setattr(pii, "find_pii", leaky)
    after = run_in_process(tests, checks.safety, OFFLINE)
    with_keys = {"leak:aws-access-key", "leak:aws-secret-env", "leak:mixed-secrets"} - set(before)
    assert with_keys, before
    assert with_keys <= set(after)
    assert any("session holds" in after[case] for case in with_keys)


@pytest.mark.timeout(300)
def test_a_gateway_with_fallback_off_fails_the_resilience_suite() -> None:
    tests = [
        t
        for t in cases.resilience()
        if t["metadata"]["category"] in ("primary-down", "throttle-storm")
    ]
    emulated = {"mode": "emulator", "guardrails": cases.load("guardrails")}
    before = run_in_process(tests, checks.resilience, emulated)
    assert before == {}
    after = run_in_process(tests, checks.resilience, {**emulated, "fallback": False})
    assert set(after) == {t["metadata"]["id"] for t in tests}
    assert all("region: expected 'us-west-2'" in reason for reason in after.values())


@pytest.mark.timeout(300)
def test_a_gateway_that_sends_what_does_not_fit_fails_the_resilience_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit.bedrock import sizing

    tests = [t for t in cases.resilience() if t["metadata"]["category"] == "context-window"]
    emulated = {"mode": "emulator"}
    assert run_in_process(tests, checks.resilience, emulated) == {}
    monkeypatch.setattr(sizing, "route_window", lambda route: None)  # no window: never refused
    after = run_in_process(tests, checks.resilience, emulated)
    decided = {t["metadata"]["id"] for t in tests if not t["metadata"].get("ask")}
    assert decided
    assert decided <= set(after)
    assert all("region: expected 'us-west-2'" in after[case] for case in decided)


@pytest.mark.timeout(300)
def test_a_knowledge_search_without_its_fallback_fails_the_resilience_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentkit.errors import ToolFailed
    from agentkit.tools import docs_search

    tests = [t for t in cases.resilience() if t["metadata"]["category"] == "knowledge-base-down"]
    emulated = {"mode": "emulator"}
    assert run_in_process(tests, checks.resilience, emulated) == {}

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ToolFailed("docs_search is off for this test")

    monkeypatch.setattr(docs_search.DocsSearch, "search", unavailable)
    after = run_in_process(tests, checks.resilience, emulated)
    decided = {t["metadata"]["id"] for t in tests if not t["metadata"].get("ask")}
    assert decided
    assert decided <= set(after)


@pytest.mark.timeout(300)
def test_mcp_serve_without_its_guards_fails_the_mcp_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.guardrails.payloads import PayloadVerdict
    from agentkit.serve import mcp as served

    tests = cases.mcp()
    assert run_in_process(tests, checks.mcp, MCP) == {}
    monkeypatch.setattr(served, "check_arguments", PayloadVerdict)  # no guard: as given
    monkeypatch.setattr(served, "redact_payload", PayloadVerdict)
    after = run_in_process(tests, checks.mcp, MCP)
    injections = {t["metadata"]["id"] for t in tests if t["metadata"]["category"] == "injection"}
    assert injections <= set(after)
    # the leak cases whose secret a tool echoes (or a failure names) are caught too
    echoed = {"dr-workload-aws-key", "dr-workload-email", "dr-store-name-dsn"}
    assert {f"leak:{case}" for case in echoed} | {"leak:fmea-path-with-a-key"} <= set(after)
    assert not any(case.startswith("benign:") for case in after)
