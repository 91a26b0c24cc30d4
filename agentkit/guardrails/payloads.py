"""The guards on structured tool payloads where another program, not a person, is on the other
side (``agentkit mcp serve``).

What an MCP client sends is checked as a user's question is: every string (keys included) is
redacted before a tool, a result store or a span sees it, and a payload with text that reads as
instructions to a model is refused. What the client reads back is redacted as an answer is, so a
secret never leaves agentkit over MCP. Each distinct string is checked once per payload (the
rows of an FMEA worksheet repeat their texts), and the walk has the depth bound of
:func:`agentkit.guardrails.pii.redact_value`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.guardrails import INJECTION_REFUSAL, safe_evidence
from agentkit.guardrails.injection import HeuristicClassifier, PromptAttackClassifier
from agentkit.guardrails.pii import MAX_DEPTH, redact


@dataclass(frozen=True)
class PayloadVerdict:
    payload: Any  # every string redacted
    reasons: tuple[str, ...] = ()  # "redacted KIND" once per kind, then an injection reason
    refusal: str | None = None  # set when the payload must not reach the tool

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def _strings(value: Any, each: Callable[[str], str], depth: int = 0) -> Any:
    """``value`` with every string (dict keys included) replaced by ``each(string)``."""
    if isinstance(value, str):
        return each(value)
    if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
        return "{TOO_DEEP}"
    if isinstance(value, dict):
        return {
            (each(key) if isinstance(key, str) else key): _strings(item, each, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_strings(item, each, depth + 1) for item in value]
    return value


class _Redactor:
    """Redacts strings, each distinct one once, and remembers the kinds it found in order."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.kinds: list[str] = []

    def __call__(self, text: str) -> str:
        done = self.seen.get(text)
        if done is None:
            redaction = redact(text)
            done = self.seen[text] = redaction.text
            for finding in redaction.findings:
                if finding.kind not in self.kinds:
                    self.kinds.append(finding.kind)
        return done

    def reasons(self) -> tuple[str, ...]:
        return tuple(f"redacted {kind}" for kind in self.kinds)


def redact_payload(payload: Any) -> PayloadVerdict:
    """A tool's result on its way out: every secret and PII replaced by ``{KIND}``."""
    redactor = _Redactor()
    redacted = _strings(payload, redactor)
    return PayloadVerdict(redacted, redactor.reasons())


def check_arguments(
    arguments: Any, classifier: PromptAttackClassifier | None = None
) -> PayloadVerdict:
    """A tool's arguments on their way in: redacted, and refused when a string holds a prompt
    injection (``refusal`` says so; the reason quotes the evidence, redacted)."""
    classifier = classifier or HeuristicClassifier()
    outcome = redact_payload(arguments)
    for text in dict.fromkeys(_texts(arguments)):
        verdict = classifier.classify(text, "user")
        if verdict.flagged:
            evidence = safe_evidence(verdict.evidence, redact(text))
            reason = f"prompt injection ({verdict.family}): {evidence!r}"
            return PayloadVerdict(outcome.payload, (*outcome.reasons, reason), INJECTION_REFUSAL)
    return outcome


def _texts(value: Any) -> list[str]:
    """Every string of ``value``, keys included, in document order."""
    found: list[str] = []

    def keep(text: str) -> str:
        found.append(text)
        return text

    _strings(value, keep)
    return found
