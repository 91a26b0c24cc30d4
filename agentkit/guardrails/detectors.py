"""The registry of PII and secret detectors that redaction runs, in order.

Each :class:`Detector` is a compiled pattern, the group of the match that is the secret itself (so
``postgres://app:{PASSWORD}@db`` keeps the host, and ``password={PASSWORD}`` keeps the key), and an
optional check that a candidate is real: a checksum (Luhn for cards, mod 97 for IBANs), a
credentials context (AWS account IDs, bare secret keys) or the Shannon entropy of a bare secret.

Why hand-written patterns rather than a detector library: ``detect-secrets`` (the maintained
choice) scans files line by line and reports a secret's value and line, not its offsets, so it
cannot drive a redactor that must replace exactly the secret inside free text; it covers no
personal data (IBAN, card, e-mail, phone, SSN) and would add a dependency with network-oriented
plugins to an offline package. Presidio needs spaCy models. The registry here is small (about
twenty patterns), runs offline, and every detector is unit-tested with positive and negative
examples in ``tests/guardrails``. The formats follow the issuers' documented token prefixes
(GitHub ``ghp_``/``github_pat_``, GitLab ``glpat-``, Slack ``xox?-``, AWS ``AKIA``/``ASIA``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Check = Callable[[str, re.Match[str]], bool]


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        digit = int(char)
        if index % 2 == parity:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 is 1."""
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rotated = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rotated)
    return int(number) % 97 == 1


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``: random base64 is near 4.8, a hex digest at most 4."""
    counts = Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


_CREDENTIAL_CONTEXT = re.compile(
    r"(secret|aws_secret_access_key|access[ _-]?key|credential|password|token|account|"
    r"arn:aws|aws_account_id|role|assume)",
    re.IGNORECASE,
)
_AWS_KEY_ID = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ABIA|ACCA|A3T[A-Z0-9])"
    r"[A-Z0-9]{16}(?![A-Z0-9])"
)
_SECRET_VALUE = r"[A-Za-z0-9/+=]{40}"
ENTROPY_BITS = 4.25  # random 40-character base64 keys measure 4.3 to 5.1 bits a character
_QUOTE = r"[\"'`]?"
_ASSIGN = rf"{_QUOTE}\s*(?:=>|:=|[:=])\s*{_QUOTE}"


CONTEXT_BEFORE, CONTEXT_AFTER = 60, 20  # how far around a candidate its context is read


def in_credentials_context(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - CONTEXT_BEFORE) : end + CONTEXT_AFTER]
    return bool(_CREDENTIAL_CONTEXT.search(window)) or bool(_AWS_KEY_ID.search(window))


def _mixed(value: str) -> bool:
    return bool(
        re.search(r"[a-z]", value) and re.search(r"[A-Z]", value) and re.search(r"\d", value)
    )


def looks_random(value: str) -> bool:
    """A key-shaped string as random as a generated key (not a path, a word run or a digest)."""
    shaped = value.count("/") <= 3 and not value.startswith("/") and not value.endswith("/")
    return shaped and shannon_entropy(value) >= ENTROPY_BITS


def _bare_secret(text: str, match: re.Match[str]) -> bool:
    value = match.group(0)
    return _mixed(value) and (
        in_credentials_context(text, match.start(), match.end()) or looks_random(value)
    )


def _card(text: str, match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _ssn(text: str, match: re.Match[str]) -> bool:
    area, group, serial = match.group(0).split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _phone(text: str, match: re.Match[str]) -> bool:
    return len(re.sub(r"\D", "", match.group(0))) >= 9


def _account(text: str, match: re.Match[str]) -> bool:
    return in_credentials_context(text, match.start(), match.end())


def _iban(text: str, match: re.Match[str]) -> bool:
    return iban_valid(match.group(0))


def _not_placeholder(text: str, match: re.Match[str]) -> bool:
    value = match.group("secret")
    return not re.fullmatch(r"[{<$%*\[(].*|x+|\*+|\.+|none|null|true|false|redacted", value, re.I)


@dataclass(frozen=True)
class Detector:
    """One kind of secret: ``pattern`` finds candidates, ``check`` keeps the real ones.

    When the pattern has a group named ``secret``, only that group is redacted.
    """

    kind: str
    pattern: re.Pattern[str]
    check: Check | None = None
    description: str = ""

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            if self.check is not None and not self.check(text, match):
                continue
            group = "secret" if "secret" in self.pattern.groupindex else 0
            if match.start(group) < match.end(group):
                yield match.span(group)


@dataclass(frozen=True)
class DetectorRegistry:
    """Detectors in the order they claim text: an earlier one wins an overlapping span."""

    detectors: tuple[Detector, ...] = ()
    _kinds: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kinds", tuple(dict.fromkeys(d.kind for d in self.detectors)))

    @property
    def kinds(self) -> tuple[str, ...]:
        return self._kinds

    def register(self, detector: Detector, *, before: str | None = None) -> DetectorRegistry:
        """A new registry with ``detector`` added (at the end, or before the first ``before``)."""
        detectors = list(self.detectors)
        index = next((i for i, d in enumerate(detectors) if d.kind == before), len(detectors))
        detectors.insert(index, detector)
        return DetectorRegistry(tuple(detectors))

    def of(self, kinds: tuple[str, ...]) -> tuple[Detector, ...]:
        unknown = set(kinds) - set(self._kinds)
        if unknown:
            raise KeyError(f"unknown detector kinds {sorted(unknown)}")
        return tuple(d for d in self.detectors if d.kind in kinds)


def _p(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_PEM = _p(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"|[A-Za-z0-9+/=\s\\:,-]{0,20000})"
)
_SECRET_KEY_NAMES = (
    r"aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret|"
    r"SecretAccessKey|secretKey"
)
_SESSION_TOKEN_NAMES = r"aws_?session_?token|aws_?security_?token|SessionToken"
_PASSWORD_NAMES = r"[a-z_]*pass(?:word|wd|phrase)|pwd|db_?pass"
_SECRET_NAMES = (
    r"secret|client_?secret|api_?key|apikey|x-api-key|access_?token|auth_?token|"
    r"refresh_?token|bearer_?token|token|private_?key|[a-z_]*_(?:secret|token|api_?key)"
)


def _assignment(names: str, value: str = r"[^\s\"'`,;&]{4,}") -> re.Pattern[str]:
    return _p(rf"(?<![A-Za-z0-9_])(?i:{names}){_ASSIGN}(?P<secret>{value})")


DETECTORS = DetectorRegistry(
    (
        Detector("PRIVATE_KEY", _PEM, description="PEM private key blocks, the whole block"),
        Detector(
            "JWT",
            _p(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
            description="JSON Web Tokens (header.payload.signature, base64url)",
        ),
        Detector("AWS_ACCESS_KEY", _AWS_KEY_ID, description="AWS access key IDs (AKIA, ASIA, ...)"),
        Detector(
            "AWS_SECRET_KEY",
            _assignment(_SECRET_KEY_NAMES, r"[A-Za-z0-9/+=]{16,}"),
            _not_placeholder,
            "AWS secret keys after their name: env, INI, JSON, YAML, with or without quotes",
        ),
        Detector(
            "AWS_SESSION_TOKEN",
            _assignment(_SESSION_TOKEN_NAMES, r"[A-Za-z0-9/+=]{16,}"),
            _not_placeholder,
            "AWS session tokens after their name",
        ),
        Detector(
            "GITHUB_TOKEN",
            _p(
                r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})"
            ),
            description="GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_, github_pat_",
        ),
        Detector(
            "GITLAB_TOKEN",
            _p(r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}"),
            description="GitLab personal access tokens (glpat-)",
        ),
        Detector(
            "SLACK_WEBHOOK",
            _p(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{8,}"),
            description="Slack incoming-webhook URLs",
        ),
        Detector(
            "SLACK_TOKEN",
            _p(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}"),
            description="Slack tokens (xoxb-, xoxa-, xoxp-, xoxr-, xoxs-)",
        ),
        Detector(
            "PASSWORD",
            _p(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@]*:(?P<secret>[^\s/]+)@"),
            _not_placeholder,
            "passwords inside connection strings (postgres://u:p@h, redis://:p@h, mongodb+srv)",
        ),
        Detector(
            "PASSWORD",
            _assignment(_PASSWORD_NAMES),
            _not_placeholder,
            'password=..., password: ..., "password": "..."',
        ),
        Detector(
            "SECRET",
            _assignment(_SECRET_NAMES, r"[^\s\"'`,;&]{8,}"),
            _not_placeholder,
            "api_key=..., client_secret: ..., token=... (8 characters or more)",
        ),
        Detector(
            "EMAIL",
            _p(
                r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,256}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,}"
            ),
            description="e-mail addresses",
        ),
        Detector(
            "IBAN",
            _p(
                r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?"
                r"|[A-Z0-9]{11,30})(?![A-Za-z0-9])"
            ),
            _iban,
            "IBANs, compact or in groups of four, with the mod-97 checksum",
        ),
        Detector(
            "CREDIT_CARD",
            _p(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"),
            _card,
            "card numbers (13 to 19 digits) that pass the Luhn check",
        ),
        Detector(
            "US_SSN",
            _p(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
            _ssn,
            "US social security numbers (NNN-NN-NNNN, valid area and group)",
        ),
        Detector(
            "AWS_ACCOUNT_ID",
            _p(r"(?<![\d-])\d{12}(?![\d-])"),
            _account,
            "12-digit AWS account IDs, only in a credentials context",
        ),
        Detector(
            "PHONE",
            _p(
                r"(?<![\w+])(?:(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}"
                r"|\+\d{1,3}[ .-]\d{1,4}(?:[ .-]\d{2,4}){2,3})(?![\d-])"
            ),
            _phone,
            "phone numbers (North American and international forms, 9 digits or more)",
        ),
        Detector(
            "IP_ADDRESS",
            _p(
                r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
                r"(?![\d.])"
            ),
            description="IPv4 addresses",
        ),
        Detector(
            "AWS_SECRET_KEY",
            _p(rf"(?<![A-Za-z0-9/+=]){_SECRET_VALUE}(?![A-Za-z0-9/+=])"),
            _bare_secret,
            "a bare 40-character secret key: near credential words, or as random as a key",
        ),
    )
)
