"""PII and secrets: detection and redaction, the one place for these patterns.

Agentkit's own guards and the emulator's rule-based Bedrock Guardrails both use them. Secrets
that look like ordinary data (a 40-character AWS secret key, a 12-digit account ID) are reported
only in a credentials context, to keep false positives on hashes and order numbers low.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def luhn_valid(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        digit = int(char)
        if index % 2 == parity:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_CREDENTIAL_CONTEXT = re.compile(
    r"(secret|aws_secret_access_key|access[ _-]?key|credential|password|token|account|"
    r"arn:aws|aws_account_id|role|assume)",
    re.IGNORECASE,
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "EMAIL": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "AWS_ACCESS_KEY": re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b"),
    "AWS_SECRET_KEY": re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
    "CREDIT_CARD": re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"),
    "US_SSN": re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    "PHONE": re.compile(
        r"(?<![\w+])(?:(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}"
        r"|\+\d{1,3}[ .-]\d{1,4}(?:[ .-]\d{2,4}){2,3})(?![\d-])"
    ),
    "AWS_ACCOUNT_ID": re.compile(r"(?<![\d-])\d{12}(?![\d-])"),
    "IP_ADDRESS": re.compile(
        r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
    ),
}
# Checked in this order; an earlier kind claims its span of text first.
ORDER = (
    "EMAIL",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CREDIT_CARD",
    "US_SSN",
    "AWS_ACCOUNT_ID",
    "PHONE",
    "IP_ADDRESS",
)


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


def _in_credentials_context(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - 60) : end + 20]
    return bool(_CREDENTIAL_CONTEXT.search(window)) or bool(
        PATTERNS["AWS_ACCESS_KEY"].search(window)
    )


def _accept(kind: str, text: str, match: re.Match[str]) -> bool:
    value = match.group(0)
    if kind == "CREDIT_CARD":
        digits = re.sub(r"\D", "", value)
        return 13 <= len(digits) <= 19 and luhn_valid(digits)
    if kind == "AWS_SECRET_KEY":
        mixed = (
            re.search(r"[a-z]", value) and re.search(r"[A-Z]", value) and re.search(r"\d", value)
        )
        return bool(mixed) and _in_credentials_context(text, match.start(), match.end())
    if kind == "AWS_ACCOUNT_ID":
        return _in_credentials_context(text, match.start(), match.end())
    if kind == "PHONE":
        return len(re.sub(r"\D", "", value)) >= 9
    return True


def find_pii(text: str, kinds: tuple[str, ...] = ORDER) -> list[Finding]:
    """Every PII or secret in ``text``, without overlaps, in order of appearance."""
    taken: list[tuple[int, int]] = []
    findings: list[Finding] = []
    for kind in kinds:
        for match in PATTERNS[kind].finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken) or not _accept(kind, text, match):
                continue
            taken.append((start, end))
            findings.append(Finding(kind, start, end, match.group(0)))
    return sorted(findings, key=lambda f: f.start)


def redact(text: str, kinds: tuple[str, ...] = ORDER) -> Redaction:
    """``text`` with each finding replaced by ``{KIND}``."""
    findings = find_pii(text, kinds)
    out, last = [], 0
    for finding in findings:
        out += [text[last : finding.start], "{" + finding.kind + "}"]
        last = finding.end
    out.append(text[last:])
    return Redaction("".join(out), tuple(findings))


def redact_value(value: Any) -> Any:
    """Redact every string inside dicts, lists and tuples (tool payloads, span attributes)."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value
