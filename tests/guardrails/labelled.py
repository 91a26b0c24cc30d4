"""The labelled injection set: attacks and benign SRE questions from ``data/``, ready to check.

``python -m tests.guardrails.labelled`` prints the detection and false-positive rates and every
miss; the test in ``test_labelled_set.py`` asserts them.
"""

from __future__ import annotations

import base64
import codecs
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentkit.guardrails import InputGuard
from agentkit.guardrails.injection import detect_injection

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Case:
    text: str
    family: str
    language: str
    source: str = "user"


def _encode(text: str, how: str) -> str:
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    if how == "rot13":
        return codecs.encode(text, "rot13")
    if how == "hex":
        return text.encode().hex()
    if how == "reverse":
        return text[::-1]
    if how == "url":
        return urllib.parse.quote(text, safe="")
    raise ValueError(f"unknown encoding {how!r}")


def _case(entry: dict[str, Any]) -> Case:
    text = entry["text"]
    if "encode" in entry:
        text = " ".join(filter(None, [entry.get("prefix"), _encode(text, entry["encode"])]))
    return Case(text, entry["family"], entry["language"], entry.get("source", "user"))


def load(name: str) -> list[Case]:
    entries = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return [_case(entry) for entry in entries]


def attacks() -> list[Case]:
    return load("injection_attacks.yaml")


def benign() -> list[Case]:
    return load("benign_sre.yaml")


def missed(cases: list[Case]) -> list[Case]:
    return [case for case in cases if not detect_injection(case.text, case.source).flagged]


def flagged(cases: list[Case]) -> list[Case]:
    return [case for case in cases if detect_injection(case.text, case.source).flagged]


def refused(cases: list[Case]) -> list[Case]:
    return [case for case in cases if not InputGuard().check(case.text).allowed]


def rates() -> tuple[float, float, float]:
    """(detection rate on attacks, false-positive rate on benign, refusal rate on benign)."""
    hostile, ordinary = attacks(), benign()
    detection = 1 - len(missed(hostile)) / len(hostile)
    return detection, len(flagged(ordinary)) / len(ordinary), len(refused(ordinary)) / len(ordinary)


def main() -> None:
    hostile, ordinary = attacks(), benign()
    detection, false_positive, refusal = rates()
    print(f"attacks: {len(hostile)}  detected: {detection:.1%}")
    print(
        f"benign:  {len(ordinary)}  false positives: {false_positive:.1%}  refused: {refusal:.1%}"
    )
    for case in missed(hostile):
        print(f"MISSED   [{case.family}/{case.language}] {case.text!r}")
    for case in flagged(ordinary):
        verdict = detect_injection(case.text, case.source)
        print(f"FLAGGED  [{case.family}/{case.language}] {case.text!r} -> {verdict}")
    for case in refused(ordinary):
        print(f"REFUSED  [{case.family}/{case.language}] {case.text!r}")


if __name__ == "__main__":
    main()
