"""Prompt-injection defence in depth, for user input and for tool output (data that talks back).

1. **Normalisation** (:mod:`agentkit.guardrails.normalise`): Unicode compatibility forms,
   homoglyphs, invisibles, leetspeak and split words are folded; base64, hex, ROT13, URL-escaped
   and reversed spans are decoded. Every reading is checked.
2. **Patterns** (:mod:`agentkit.guardrails.injection_patterns`), by family, in English and in
   German, French, Spanish, Italian, Portuguese, Dutch, Polish, Turkish, Chinese, Japanese,
   Korean and Russian. They need an instruction *to the assistant*, so SRE language that shares
   the verbs is not flagged.
3. **Trusted and untrusted text are kept apart** (:mod:`agentkit.guardrails.untrusted`): tool output
   and logs pasted into a question are data. Lines of such data are checked with the stricter
   data patterns (a log line that addresses "the AI" is an attack), and fenced before a model
   reads them.
4. **A classifier step**: :class:`PromptAttackClassifier` is the interface; the local heuristic is
   the default, and :class:`BedrockPromptAttackClassifier` asks a Bedrock guardrail's
   prompt-attack filter when one is configured. :class:`LayeredClassifier` runs several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agentkit.guardrails.injection_patterns import (
    CASED,
    DATA_FAMILIES,
    FAMILIES,
    MULTILINGUAL,
    SQUASHED,
)
from agentkit.guardrails.normalise import MAX_SCAN, Variant, fold, plain, variants
from agentkit.guardrails.untrusted import fence, pasted_lines

Source = Literal["user", "tool"]
Patterns = dict[str, tuple[re.Pattern[str], ...]]


@dataclass(frozen=True)
class InjectionVerdict:
    flagged: bool
    family: str | None = None
    score: float = 0.0
    evidence: str = ""
    classifier: str = "heuristic"


def normalise(text: str) -> str:
    """The folded reading of ``text`` (kept for callers of the first version)."""
    return fold(text)


def _search(tables: tuple[Patterns, ...], text: str) -> tuple[str, str] | None:
    for table in tables:
        for family, patterns in table.items():
            for pattern in patterns:
                found = pattern.search(text)
                if found:
                    return family, found.group(0)
    return None


def _match_variant(variant: Variant, source: Source) -> tuple[str, str] | None:
    if variant.how == "squashed":
        return _search((SQUASHED,), variant.text)
    tables: tuple[Patterns, ...] = (FAMILIES, MULTILINGUAL)
    if source == "tool":
        tables = (*tables, DATA_FAMILIES)
    return _search(tables, variant.text)


def _score(variant: Variant) -> float:
    return {"plain": 1.0, "folded": 0.9, "squashed": 0.85}.get(variant.how, 0.95)


def _scan(text: str, source: Source) -> InjectionVerdict:
    hit = _search((CASED,), text[:MAX_SCAN])
    if hit is not None:
        return InjectionVerdict(True, hit[0], 1.0, hit[1][:80])
    for variant in variants(text):
        hit = _match_variant(variant, source)
        if hit is not None:
            family = f"encoded_{hit[0]}" if variant.decoded else hit[0]
            return InjectionVerdict(True, family, _score(variant), hit[1][:80])
    return InjectionVerdict(False)


def detect_injection(text: str, source: Source | str = "user") -> InjectionVerdict:
    """Flag instructions aimed at the assistant in ``text`` (``source``: "user" or "tool").

    In user text, lines pasted from logs or tool output are data: they are also checked with
    the data patterns, and a hit there is the ``log_injection`` family.
    """
    origin: Source = "tool" if source == "tool" else "user"
    verdict = _scan(text, origin)
    if verdict.flagged or origin == "tool":
        return verdict
    pasted = "\n".join(pasted_lines(text[:MAX_SCAN]))
    if pasted:  # the whole text was read above: only the data patterns are new here
        for variant in (Variant("plain", plain(pasted)), Variant("folded", fold(pasted))):
            hit = _search((DATA_FAMILIES,), variant.text)
            if hit is not None:
                return InjectionVerdict(True, "log_injection", _score(variant), hit[1][:80])
    return verdict


def neutralise(text: str, source: str = "tool") -> str:
    """Fence tool output (or any untrusted text) so the model reads it as data only."""
    return fence(text, source, detect_injection(text, source="tool"))


class PromptAttackClassifier(Protocol):
    """One step of injection defence: say whether ``text`` is a prompt attack."""

    @property
    def name(self) -> str: ...

    def classify(self, text: str, source: str = "user") -> InjectionVerdict: ...


@dataclass(frozen=True)
class HeuristicClassifier:
    """The local, deterministic patterns: always available, no network."""

    name: str = "heuristic"

    def classify(self, text: str, source: str = "user") -> InjectionVerdict:
        return detect_injection(text, source)


_CONFIDENCE = {"NONE": 0.0, "LOW": 0.5, "MEDIUM": 0.7, "HIGH": 0.9}


@dataclass(frozen=True)
class BedrockPromptAttackClassifier:
    """A Bedrock guardrail's prompt-attack filter, through ``ApplyGuardrail``.

    ``client`` is a ``bedrock-runtime`` client (or anything with ``apply_guardrail``). The text is
    sent as guarded user input, the only content the prompt-attack filter evaluates. When the
    call fails, the verdict is "not flagged" with the error as evidence: the heuristic layer
    still runs, and a guardrail outage never blocks every question.
    """

    client: Any
    guardrail_id: str
    guardrail_version: str = "DRAFT"
    name: str = "bedrock-guardrail"

    def classify(self, text: str, source: str = "user") -> InjectionVerdict:
        from agentkit.guardrails.pii import redact

        guarded = redact(text).text  # secrets and personal data never leave the process
        try:
            response = self.client.apply_guardrail(
                guardrailIdentifier=self.guardrail_id,
                guardrailVersion=self.guardrail_version,
                source="INPUT" if source == "user" else "OUTPUT",
                content=[{"text": {"text": guarded, "qualifiers": ["guard_content"]}}],
            )
        except Exception as error:  # any SDK or transport error: fall back to the other layers
            return InjectionVerdict(
                False, evidence=f"unavailable: {error}"[:200], classifier=self.name
            )
        for assessment in response.get("assessments", []):
            for found in assessment.get("contentPolicy", {}).get("filters", []):
                if found.get("type") == "PROMPT_ATTACK" and (
                    found.get("action") == "BLOCKED" or found.get("detected")
                ):
                    score = _CONFIDENCE.get(str(found.get("confidence", "HIGH")), 0.9)
                    return InjectionVerdict(
                        True, "prompt_attack", score, "PROMPT_ATTACK filter", self.name
                    )
        return InjectionVerdict(False, classifier=self.name)


@dataclass(frozen=True)
class LayeredClassifier:
    """Run each layer in order; the first that flags decides."""

    layers: tuple[PromptAttackClassifier, ...] = (HeuristicClassifier(),)
    name: str = "layered"

    def classify(self, text: str, source: str = "user") -> InjectionVerdict:
        for layer in self.layers:
            verdict = layer.classify(text, source)
            if verdict.flagged:
                return verdict
        return InjectionVerdict(False)


def prompt_attack_classifier(
    client: Any = None, guardrail_id: str | None = None, guardrail_version: str = "DRAFT"
) -> PromptAttackClassifier:
    """The heuristic alone, or the heuristic then a Bedrock guardrail when one is configured."""
    if client is None or not guardrail_id:
        return HeuristicClassifier()
    bedrock = BedrockPromptAttackClassifier(client, guardrail_id, guardrail_version)
    return LayeredClassifier((HeuristicClassifier(), bedrock))


__all__ = [
    "FAMILIES",
    "BedrockPromptAttackClassifier",
    "HeuristicClassifier",
    "InjectionVerdict",
    "LayeredClassifier",
    "PromptAttackClassifier",
    "detect_injection",
    "neutralise",
    "normalise",
    "prompt_attack_classifier",
]
