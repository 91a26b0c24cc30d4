"""agentkit's own guardrails, local and deterministic (Bedrock Guardrails are applied by the
gateway through ``guardrailConfig``).

- :class:`InputGuard`: redact PII and secrets, refuse prompt injection (a local heuristic by
  default, optionally layered with a Bedrock guardrail's prompt-attack filter) and off-topic
  requests, and fence lines pasted from logs as untrusted data.
- :class:`OutputGuard`: redact PII and secrets, and check that the answer is grounded in the
  tool results it was written from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentkit.guardrails.grounding import check_grounding
from agentkit.guardrails.injection import (
    HeuristicClassifier,
    PromptAttackClassifier,
    detect_injection,
)
from agentkit.guardrails.pii import Redaction, redact
from agentkit.guardrails.topic import TopicScope, check_topic
from agentkit.guardrails.untrusted import mark_pasted

INJECTION_REFUSAL = (
    "I can't follow instructions that try to change how I work. Ask me about disaster recovery, "
    "failover or resilience for your workload and I'll help."
)


@dataclass(frozen=True)
class InputVerdict:
    allowed: bool
    text: str  # redacted
    reasons: tuple[str, ...] = ()
    refusal: str | None = None


@dataclass(frozen=True)
class OutputVerdict:
    text: str  # redacted
    replace: bool  # not grounded: regenerate or fall back to the template
    reasons: tuple[str, ...] = ()


def safe_evidence(evidence: str, redaction: Redaction) -> str:
    """Evidence quoted in a reason (reasons go on spans), never holding what was redacted.

    The evidence comes from a normalised reading of the raw text, which redaction may not
    recognise (a lower-cased key), so it is read again from the redacted text.
    """
    if not redaction.findings:
        return evidence
    again = detect_injection(redaction.text)
    return again.evidence if again.flagged else "(withheld: it overlaps redacted text)"


@dataclass(frozen=True)
class InputGuard:
    scope: TopicScope = field(default_factory=TopicScope)
    classifier: PromptAttackClassifier = field(default_factory=HeuristicClassifier)

    def check(self, text: str) -> InputVerdict:
        redaction = redact(text)
        reasons = tuple(f"redacted {f.kind}" for f in redaction.findings)
        injection = self.classifier.classify(text, "user")
        if injection.flagged:
            evidence = safe_evidence(injection.evidence, redaction)
            reason = f"prompt injection ({injection.family}): {evidence!r}"
            return InputVerdict(False, redaction.text, (*reasons, reason), INJECTION_REFUSAL)
        topic = check_topic(redaction.text, self.scope)
        if not topic.in_scope:
            return InputVerdict(False, redaction.text, (*reasons, topic.reason), self.scope.refusal)
        return InputVerdict(True, mark_pasted(redaction.text), reasons)


@dataclass(frozen=True)
class OutputGuard:
    def check(self, answer: str, tool_results: Any) -> OutputVerdict:
        redaction = redact(answer)
        reasons = [f"redacted {f.kind}" for f in redaction.findings]
        grounding = check_grounding(redaction.text, tool_results)
        reasons += [f"unsupported {claim}" for claim in grounding.unsupported]
        return OutputVerdict(redaction.text, not grounding.grounded, tuple(reasons))


__all__ = ["InputGuard", "InputVerdict", "OutputGuard", "OutputVerdict"]
