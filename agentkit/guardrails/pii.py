"""PII and secrets: the redaction layer, the one place that decides what is replaced.

Agentkit's own guards, the question stored in a session, the content put on spans, tool payloads
and the emulator's rule-based Bedrock Guardrails all go through :func:`redact` or
:func:`redact_value`. The detectors themselves live in :mod:`agentkit.guardrails.detectors`, a
registry that runs in order. Secrets that look like ordinary data (a 40-character AWS secret
key, a 12-digit account ID) need a credentials context or, for keys, the entropy of a random
key, to keep false positives on hashes and order numbers low.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.guardrails.detectors import (
    DETECTORS,
    Detector,
    DetectorRegistry,
    iban_valid,
    luhn_valid,
)

# Every kind, in the order the registry checks them; an earlier kind claims its span first.
ORDER: tuple[str, ...] = DETECTORS.kinds
# The first pattern of each kind (kept for callers that match one kind by hand).
PATTERNS: dict[str, re.Pattern[str]] = {
    kind: next(d.pattern for d in DETECTORS.detectors if d.kind == kind) for kind in ORDER
}
MAX_DEPTH = 200  # nesting redact_value follows; deeper values are replaced, never recursed into


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Redaction:
    text: str
    findings: tuple[Finding, ...]


def _detectors(kinds: tuple[str, ...] | None, registry: DetectorRegistry) -> tuple[Detector, ...]:
    return registry.detectors if kinds is None else registry.of(kinds)


def find_pii(
    text: str, kinds: tuple[str, ...] | None = None, registry: DetectorRegistry = DETECTORS
) -> list[Finding]:
    """Every PII or secret in ``text``, without overlaps, in order of appearance."""
    taken: list[tuple[int, int]] = []
    findings: list[Finding] = []
    for detector in _detectors(kinds, registry):
        for start, end in detector.spans(text):
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            findings.append(Finding(detector.kind, start, end, text[start:end]))
    return sorted(findings, key=lambda f: f.start)


def redact(
    text: str, kinds: tuple[str, ...] | None = None, registry: DetectorRegistry = DETECTORS
) -> Redaction:
    """``text`` with each finding replaced by ``{KIND}``."""
    findings = find_pii(text, kinds, registry)
    out, last = [], 0
    for finding in findings:
        out += [text[last : finding.start], "{" + finding.kind + "}"]
        last = finding.end
    out.append(text[last:])
    return Redaction("".join(out), tuple(findings))


def map_strings(value: Any, each: Callable[[str], str], _depth: int = 0) -> Any:
    """``value`` with every string inside dicts, lists and tuples replaced by ``each(string)``.

    Keys are strings too (a secret pasted as a key is still a secret); bytes are read as UTF-8;
    values nested deeper than :data:`MAX_DEPTH` become ``"{TOO_DEEP}"`` instead of overflowing
    the stack.
    """
    if isinstance(value, str):
        return each(value)
    if isinstance(value, bytes | bytearray):
        return each(bytes(value).decode("utf-8", "replace"))
    if _depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
        return "{TOO_DEEP}"
    if isinstance(value, dict):
        return {
            (each(key) if isinstance(key, str) else key): map_strings(item, each, _depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [map_strings(item, each, _depth + 1) for item in value]
    return value


def redact_value(value: Any) -> Any:
    """Redact every string inside dicts, lists and tuples (tool payloads, span attributes)."""
    return map_strings(value, lambda text: redact(text).text)


__all__ = [
    "DETECTORS",
    "ORDER",
    "PATTERNS",
    "Detector",
    "DetectorRegistry",
    "Finding",
    "Redaction",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "map_strings",
    "redact",
    "redact_value",
]
