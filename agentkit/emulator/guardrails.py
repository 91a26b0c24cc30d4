"""Rule-based Bedrock Guardrails for the emulator: denied topics, regex patterns, PII kinds.

Guardrails are regional resources, as on Bedrock: each Region has its own set, and an unknown
identifier is a ResourceNotFoundException. A built-in guardrail ``default`` (any version,
``DRAFT`` included) exists in every Region and anonymizes common PII.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from agentkit.emulator.limits import MAX_MATCH_CHARS, check_pattern
from agentkit.guardrails.pii import find_pii

Action = Literal["BLOCK", "ANONYMIZE"]


# Bedrock's PII entity type names, and the agentkit pattern that finds each.
PII_TYPES: dict[str, str] = {
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "CREDIT_DEBIT_CARD_NUMBER": "CREDIT_CARD",
    "AWS_ACCESS_KEY": "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY": "AWS_SECRET_KEY",
    "US_SOCIAL_SECURITY_NUMBER": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeniedTopic(_Spec):
    name: str
    examples: tuple[str, ...] = Field(min_length=1)  # case-insensitive phrases that mark the topic


class RegexRule(_Spec):
    name: str
    pattern: str
    action: Action = "BLOCK"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        return check_pattern(pattern)


class PiiRule(_Spec):
    type: str
    action: Action = "ANONYMIZE"

    @field_validator("type")
    @classmethod
    def _known(cls, kind: str) -> str:
        if kind not in PII_TYPES:
            raise ValueError(f"unsupported PII type {kind!r}; use one of {sorted(PII_TYPES)}")
        return kind


class GuardrailSpec(_Spec):
    id: str
    versions: tuple[str, ...] | None = None  # None: any version, DRAFT included
    denied_topics: tuple[DeniedTopic, ...] = ()
    regexes: tuple[RegexRule, ...] = ()
    pii: tuple[PiiRule, ...] = ()
    blocked_input_message: str = "Sorry, I can't help with that request."
    blocked_output_message: str = "Sorry, I can't provide that response."


class GuardrailCatalog(RootModel[dict[str, tuple[GuardrailSpec, ...]]]):
    """Guardrails per Region: ``{us-east-1: [{id: ..., pii: [...]}, ...]}``."""


DEFAULT_GUARDRAIL = GuardrailSpec(
    id="default",
    pii=tuple(PiiRule(type=kind) for kind in PII_TYPES),
)


@dataclass(frozen=True)
class GuardrailResult:
    intervened: bool
    blocked: bool
    output_text: str
    assessment: dict[str, Any]
    usage: dict[str, int]


def evaluate(spec: GuardrailSpec, text: str, source: str) -> GuardrailResult:
    """Apply ``spec`` to ``text`` (source INPUT or OUTPUT), as ApplyGuardrail would."""
    assessment: dict[str, Any] = {}
    blocked = False
    topics = _topics(spec, text)
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
        blocked = True
    masked, pii, regexes, sensitive_block = _sensitive(spec, text)
    if pii or regexes:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": pii, "regexes": regexes}
    blocked = blocked or sensitive_block
    intervened = bool(assessment)
    if blocked:
        output = spec.blocked_input_message if source == "INPUT" else spec.blocked_output_message
    else:
        output = masked
    units = max(1, math.ceil(len(text) / 1000))
    usage = {
        "topicPolicyUnits": units if spec.denied_topics else 0,
        "contentPolicyUnits": 0,
        "wordPolicyUnits": 0,
        "sensitiveInformationPolicyUnits": units if spec.regexes else 0,
        "sensitiveInformationPolicyFreeUnits": units if spec.pii else 0,
        "contextualGroundingPolicyUnits": 0,
    }
    return GuardrailResult(intervened, blocked, output, assessment, usage)


def _topics(spec: GuardrailSpec, text: str) -> list[dict[str, Any]]:
    lowered = text.lower()
    return [
        {"name": topic.name, "type": "DENY", "action": "BLOCKED", "detected": True}
        for topic in spec.denied_topics
        if any(example.lower() in lowered for example in topic.examples)
    ]


def _sensitive(
    spec: GuardrailSpec, text: str
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], bool]:
    pii: list[dict[str, Any]] = []
    regexes: list[dict[str, Any]] = []
    blocked = False
    masked = text
    for rule in spec.regexes:
        for match in re.finditer(rule.pattern, text[:MAX_MATCH_CHARS]):
            action = "BLOCKED" if rule.action == "BLOCK" else "ANONYMIZED"
            regexes.append(
                {
                    "name": rule.name,
                    "match": match.group(0),
                    "regex": rule.pattern,
                    "action": action,
                    "detected": True,
                }
            )
            blocked = blocked or rule.action == "BLOCK"
        if rule.action == "ANONYMIZE":
            masked = re.sub(rule.pattern, "{" + rule.name + "}", masked)
    for pii_rule in spec.pii:
        hits = [f.text for f in find_pii(masked, (PII_TYPES[pii_rule.type],))]
        for hit in hits:
            action = "BLOCKED" if pii_rule.action == "BLOCK" else "ANONYMIZED"
            pii.append({"match": hit, "type": pii_rule.type, "action": action, "detected": True})
            masked = masked.replace(hit, "{" + pii_rule.type + "}")
        blocked = blocked or (bool(hits) and pii_rule.action == "BLOCK")
    return masked, pii, regexes, blocked


class GuardrailRegistry:
    """Which guardrails exist in which Region."""

    def __init__(self, catalog: GuardrailCatalog | None = None) -> None:
        self._by_region: dict[str, dict[str, GuardrailSpec]] = {}
        for region, specs in (catalog.root if catalog else {}).items():
            self._by_region[region] = {spec.id: spec for spec in specs}

    def find(self, region: str, identifier: str, version: str) -> GuardrailSpec | None:
        gid = identifier.rsplit("/", 1)[-1]  # accept an ARN
        if gid == DEFAULT_GUARDRAIL.id:
            return DEFAULT_GUARDRAIL
        spec = self._by_region.get(region, {}).get(gid)
        if spec is None or (spec.versions is not None and version not in spec.versions):
            return None
        return spec
