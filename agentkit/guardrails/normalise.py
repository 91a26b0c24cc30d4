"""Normalisation and decoding for the injection checks: the forms of a text that patterns read.

An attacker hides an instruction from a pattern by changing how it is written, not what it says:
full-width or mathematical letters (NFKC folds them), Cyrillic and Greek look-alikes (folded to
Latin), zero-width characters, leetspeak, letters spaced out or split by hyphens, and encodings
(base64, hex, ROT13, URL escapes, reversed text). :func:`variants` returns every reading of a
text, each labelled, so a pattern written once for plain English catches all of them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

MAX_SCAN = 100_000  # characters the injection patterns read (size limits belong at the edge)
MAX_DECODE = 20_000  # characters decoded as a whole (ROT13, reversed, URL escapes)
MAX_SPANS = 32  # encoded spans decoded per text

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]"
)
# Cyrillic, Greek and other letters that render like Latin ones.
_HOMOGLYPHS = str.maketrans(
    {
        "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
        "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s",
        "\u0501": "d", "\u051b": "q", "\u051d": "w", "\u04bb": "h", "\u0457": "i",
        "\u043a": "k", "\u043c": "m", "\u043d": "h", "\u0442": "t", "\u0432": "b",
        "\u0433": "r", "\u0451": "e", "\u04cf": "l", "\u0475": "v",
        "\u03b1": "a", "\u03b5": "e", "\u03bf": "o", "\u03c1": "p", "\u03b9": "i",
        "\u03ba": "k", "\u03bd": "v", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x",
        "\u03b7": "n", "\u03c9": "w", "\u03b2": "b", "\u03b3": "y", "\u03bc": "u",
        "\u0131": "i", "\u0261": "g", "\u0251": "a", "\u1d0f": "o", "\u01c3": "!",
    }
)  # fmt: skip
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "l"}
)
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")
_SPLIT_WORD = re.compile(r"(?<=[a-z])[-_.*](?=[a-z])")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[\s:,]?){8,}")
_URL_ESCAPES = re.compile(r"%[0-9a-fA-F]{2}")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}){3,}")
# Common words as they read in ROT13 and reversed: a text holding none is not worth decoding.
_ROT13_HINT = re.compile(
    r"\b(?:gur|lbh|lbhe|naq|vtaber|qvfertneq|sbetrg|flfgrz|cebzcg|vafgehpgvbaf?|ehyrf|erirny|"
    r"cevag|abj|cerivbhf|qrirybcre|zbqr)\b|rot-?13",
    re.IGNORECASE,
)
_REVERSED_HINT = re.compile(
    r"\b(?:eht|uoy|ruoy|dna|erongi|drageresid|tegrof|metsys|tpmorp|snoitcurtsni|selur|laever|"
    r"tnirp|won|suoiverp)\b|backwards?|reversed?|right to left",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Variant:
    """One reading of the text: ``how`` it was obtained, and the ``text`` patterns run on."""

    how: str  # "plain", "folded", "squashed", "base64", "hex", "rot13", "reversed", "url", ...
    text: str

    @property
    def decoded(self) -> bool:
        return self.how not in ("plain", "folded", "squashed")


def plain(text: str) -> str:
    """NFKC (full-width and mathematical letters folded), invisibles removed, casefolded."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text[:MAX_SCAN])).casefold()


def fold(text: str) -> str:
    """``plain`` plus look-alikes and accents folded to ASCII letters, leetspeak undone, letters
    spaced or split inside a word rejoined, and runs of whitespace made one space."""
    folded = plain(text).translate(_HOMOGLYPHS)
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    folded = folded.translate(_LEET)
    folded = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), folded)
    folded = _SPLIT_WORD.sub("", folded)
    return re.sub(r"\s+", " ", folded)


def squash(folded: str) -> str:
    """Only the letters: words run together or split by any separator read the same."""
    return re.sub(r"[^a-z]", "", folded)


def _printable(decoded: str) -> bool:
    if len(decoded) < 8:
        return False
    readable = sum(c.isprintable() or c in "\n\r\t" for c in decoded)
    letters = sum(c.isalpha() or c == " " for c in decoded)
    return readable == len(decoded) and letters >= 0.7 * len(decoded)


def _utf8(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if _printable(decoded) else None


def _from_base64(span: str) -> str | None:
    padded = span + "=" * (-len(span) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _utf8(raw)


def _from_hex(span: str) -> str | None:
    digits = re.sub(r"\\x|0x|[\s:,]", "", span)
    try:
        return _utf8(bytes.fromhex(digits))
    except ValueError:
        return None


def _from_unicode_escapes(span: str) -> str | None:
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), span)
    return decoded if _printable(decoded) else None


def decoded_spans(text: str) -> list[Variant]:
    """Each encoded span in ``text`` that decodes to readable text, and the text read whole as
    ROT13, reversed and URL-unescaped."""
    found: list[Variant] = []
    decoders = (
        ("base64", _BASE64, _from_base64),
        ("hex", _HEX, _from_hex),
        ("unicode_escape", _UNICODE_ESCAPES, _from_unicode_escapes),
    )
    for how, pattern, decode in decoders:
        for index, match in enumerate(pattern.finditer(text[:MAX_SCAN])):
            if index >= MAX_SPANS:
                break
            decoded = decode(match.group(0).strip())
            if decoded is not None:
                found.append(Variant(how, decoded))
    head = text[:MAX_DECODE]
    if _ROT13_HINT.search(head):
        found.append(Variant("rot13", codecs.encode(head, "rot13")))
    if _REVERSED_HINT.search(head):
        found.append(Variant("reversed", head[::-1]))
    if len(_URL_ESCAPES.findall(head)) >= 3:
        found.append(Variant("url", urllib.parse.unquote(head)))
    return found


def variants(text: str) -> list[Variant]:
    """Every reading of ``text`` that the injection patterns check, plain first."""
    folded = fold(text)
    readings = [Variant("plain", plain(text)), Variant("folded", folded)]
    readings.append(Variant("squashed", squash(folded)))
    for decoded in decoded_spans(text):
        readings += [Variant(decoded.how, plain(decoded.text))]
        readings += [Variant(decoded.how, fold(decoded.text))]
    return readings
