"""The guards on structured tool payloads where another program, not a person, is on the other
side (``agentkit mcp serve``).

What an MCP client sends is checked as a user's question is: every string (keys included) is
redacted before a tool, a result store or a span sees it, and a payload with text that reads as
instructions to a model is refused. What the client reads back is redacted as an answer is, so a
secret never leaves agentkit over MCP. Each distinct string is checked once per payload (the
rows of an FMEA worksheet repeat their texts); the walk is
:func:`agentkit.guardrails.pii.map_strings`, the one :func:`~agentkit.guardrails.pii.redact_value`
uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.guardrails import INJECTION_REFUSAL, safe_evidence
from agentkit.guardrails.injection import HeuristicClassifier, PromptAttackClassifier
from agentkit.guardrails.pii import map_strings, redact


@dataclass(frozen=True)
class PayloadVerdict:
    payload: Any  # every string redacted
    reasons: tuple[str, ...] = ()  # "redacted KIND" once per kind, then an injection reason
    refusal: str | None = None  # set when the payload must not reach the tool

    @property
    def allowed(self) -> bool:
        return self.refusal is None


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
    redacted = map_strings(payload, redactor)
    return PayloadVerdict(redacted, redactor.reasons())


def check_arguments(
    arguments: Any, classifier: PromptAttackClassifier | None = None
) -> PayloadVerdict:
    """A tool's arguments on their way in: redacted, and refused when a string holds a prompt
    injection (``refusal`` says so; the reason quotes the evidence, redacted)."""
    classifier = classifier or HeuristicClassifier()
    outcome = redact_payload(arguments)
    seen: dict[str, None] = {}  # each distinct string once, in document order

    def scan(text: str) -> str:
        seen[text] = None
        return text

    map_strings(arguments, scan)
    for text in seen:
        verdict = classifier.classify(text, "user")
        if verdict.flagged:
            evidence = safe_evidence(verdict.evidence, redact(text))
            reason = f"prompt injection ({verdict.family}): {evidence!r}"
            return PayloadVerdict(outcome.payload, (*outcome.reasons, reason), INJECTION_REFUSAL)
    return outcome
