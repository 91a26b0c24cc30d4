"""The suites' data: sizes the issue asks for, unique ids, expectations the checks understand."""

from __future__ import annotations

import json
from collections import Counter

from tests.evals.conftest import EVALS, cases, checks

STRATEGIES = set(checks.STRATEGIES)


def test_promptfoo_is_pinned_exactly_with_a_committed_lock() -> None:
    package = json.loads((EVALS / "package.json").read_text())
    assert package["dependencies"] == {"promptfoo": "0.121.20"}
    lock = json.loads((EVALS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/promptfoo"]["version"] == "0.121.20"


def test_every_suite_has_unique_case_ids() -> None:
    for generate in (cases.dr, cases.safety, cases.resilience, cases.model_path, cases.live):
        ids = [t["metadata"]["id"] for t in generate()]
        assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_the_dr_suite_has_sixty_english_questions_other_languages_and_conversations() -> None:
    tests = cases.dr()
    single = [t for t in tests if "conversationId" not in t["metadata"]]
    english = [t for t in single if "lang" not in t["metadata"]]
    assert len(english) >= 60
    assert {t["metadata"]["lang"] for t in single if "lang" in t["metadata"]} >= {"de", "fr", "es"}
    asks = [t for t in tests if t["metadata"].get("ask")]
    assert len(asks) >= 5
    conversations = Counter(t["metadata"].get("conversationId") for t in tests)
    del conversations[None]
    assert len(conversations) >= 5
    assert min(conversations.values()) >= 2
    follow_ups = [t for t in tests if t["metadata"].get("conversationId")]
    assert all(t["options"] == {"runSerially": True} for t in follow_ups)


def test_dr_expectations_use_known_strategies_and_geographies() -> None:
    geographies = checks.geographies()
    for test in cases.dr():
        meta = test["metadata"]
        assert meta.get("strategy") in STRATEGIES | {None}, meta
        assert bool(meta.get("strategy")) + bool(meta.get("ask")) + bool(meta.get("error")) == 1
        assert meta.get("geo") in set(geographies) | {None}, meta
        if meta.get("target"):
            assert meta["target"] in geographies[meta["geo"]]


def test_eu_never_holds_london_or_zurich() -> None:
    eu = set(checks.geographies()["eu"])
    assert not eu & {"eu-west-2", "eu-central-2"}
    assert eu <= set(checks.geographies()["europe"])


def test_two_hundred_cases_a_third_adversarial_and_more_benign_than_attacks() -> None:
    suites = {
        "dr": cases.dr(),
        "safety": cases.safety(),
        "resilience": cases.resilience(),
        "model-path": cases.model_path(),
    }
    total = sum(len(tests) for tests in suites.values())
    adversarial = [
        t
        for t in suites["safety"]
        if t["metadata"]["category"] in ("attack", "indirect", "leak", "offtopic")
    ]
    faults = [t for t in suites["resilience"] if t["metadata"]["category"] != "healthy"]
    guarded = [t for t in suites["model-path"] if t["metadata"]["expect"] != "echo"]
    assert total >= 200
    assert 3 * (len(adversarial) + len(faults) + len(guarded)) >= total
    injections = [t for t in adversarial if t["metadata"]["category"] in ("attack", "indirect")]
    benign = [t for t in suites["safety"] if t["metadata"]["category"] == "benign"]
    assert len(benign) >= len(injections)
    languages = {t["metadata"].get("lang") for t in adversarial} - {None}
    assert len(languages) >= 3


def test_every_injection_carries_a_canary_the_checks_look_for() -> None:
    for test in cases.safety():
        meta = test["metadata"]
        if meta["category"] in ("attack", "indirect"):
            assert "PWNED" in test["vars"]["question"] or meta["id"] in (
                "attack:en-base64",
                "attack:en-rot13",
                "indirect:log-base64",
            )
        if meta["category"] == "leak":
            assert all(s in test["vars"]["question"] for s in meta["sensitive"])


def test_the_checks_grade_a_right_and_a_wrong_answer() -> None:
    expect = {"strategy": "warm_standby", "geo": "eu"}
    advice = {
        "strategy": "warm_standby",
        "primary_region": "eu-west-1",
        "target_regions": ["eu-west-3"],
        "flags": [],
        "runbooks": [],
    }
    good = {
        "answer": "Warm standby",
        "strategy": "warm_standby",
        "answer_source": "template",
        "tool_calls": [{"name": "dr_advisor", "input": {}, "output": advice}],
    }
    assert checks.dr_problems(good, expect) == []
    london = json.loads(json.dumps(good))
    london["tool_calls"][0]["output"]["target_regions"] = ["eu-west-2"]
    assert any("outside the residency eu" in p for p in checks.dr_problems(london, expect))
    assert checks.dr(json.dumps(good), {"test": {"metadata": expect}})["pass"] is True
    assert checks.dr("not json", {"test": {"metadata": expect}})["pass"] is False
