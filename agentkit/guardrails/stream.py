"""Streamed text guarded at the source: nothing reaches the screen before the guard has seen it.

A model streams an answer in small deltas; a secret or an ungrounded claim can straddle several
of them. :class:`GuardedText` holds the text back and releases it a sentence at a time (or, in a
long run without a sentence end, all but a tail window), each released piece checked for
grounding against the tool results. Once a sentence fails the grounding check nothing more is
released: the caller shows the guarded final answer instead.

Redaction is decided on the whole text received so far, never on a piece alone, so a secret whose
detector needs context on the far side of a release point (``password:`` released, its value in
the next piece) is still found. What is released, concatenated, is ``redact(full_text).text``
cut short: a release point is only taken where text still to come cannot change what the
detectors find before it. That follows from what the detectors read
(:mod:`agentkit.guardrails.detectors`):

- a match may contain white space (a PEM block, ``password:\\n  value``, a card or an IBAN in
  groups, a phone number), so a release point never falls inside a finding, nor after the start
  of one that reaches the end of the text so far (it may still grow), and a PEM block is held
  from its ``-----BEGIN`` until its ``-----END``;
- a detector with a check (credentials context, checksums, placeholders) may read past its
  candidate: :func:`~agentkit.guardrails.detectors.in_credentials_context` reads
  :data:`~agentkit.guardrails.detectors.CONTEXT_AFTER` characters further, so a release point
  is never after the start of a candidate until that many characters after it have arrived;
- release points are only after white space (a sentence end, or a space in the window), so no
  match without white space (a token, a key, a DSN) is ever cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from agentkit.guardrails.detectors import CONTEXT_AFTER, DETECTORS, Detector
from agentkit.guardrails.grounding import check_grounding
from agentkit.guardrails.pii import Finding, find_pii

# A sentence ends at ". ", "! ", "? " or a line break; the release point is just after it.
_SENTENCE_END = re.compile(r"[.!?](?=\s)\s+|\n+")
_PEM_OPEN = "-----BEGIN"
_PEM_HEADER = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_CLOSE = re.compile(r"-----END [A-Z0-9 ]+-----")
# The PRIVATE_KEY detector's own closing line: a key block ends only there.
_KEY_CLOSE = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_SPACE = re.compile(" ")
WINDOW = 400  # without a sentence end, release all but the last TAIL characters past this
TAIL = 160  # longer than any secret with white space in it (a card, an IBAN, a phone number)
# Detectors whose check may read around the candidate, not only the match itself.
_CHECKED: tuple[Detector, ...] = tuple(d for d in DETECTORS.detectors if d.check is not None)


class GuardedText:
    """Wrap ``on_text``: call it with guarded text only. Call :meth:`close` at the end."""

    def __init__(
        self, on_text: Callable[[str], None], tool_results: Any = None, grounded: bool = True
    ) -> None:
        self._on_text = on_text
        self._tool_results = tool_results
        self._check_grounding = grounded and tool_results is not None
        self._text = ""  # everything received
        self._shown = 0  # how much of it has been released
        self.halted: str | None = None  # why release stopped, when it did
        self.released: list[str] = []

    def __call__(self, delta: str) -> None:
        if self.halted is not None:
            return
        self._text += delta
        cuts = self._candidates()
        if not cuts:
            return
        findings = find_pii(self._text)
        limit = _hold_from(self._text, self._shown, findings)
        cut = next(
            (c for c in reversed(cuts) if c <= limit and not _inside(c, findings)), self._shown
        )
        if cut > self._shown:
            self._release(cut, findings)

    def close(self) -> None:
        """The stream ended: release what is left, guarded."""
        if self.halted is None and self._shown < len(self._text):
            self._release(len(self._text), find_pii(self._text))

    def _candidates(self) -> list[int]:
        """Release points past what is shown, in order: sentence ends, else window spaces."""
        text, start = self._text, self._shown
        end = _pem_hold(text, start)
        cuts = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
        if not cuts and len(text) - start > WINDOW:
            window = min(end, len(text) - TAIL)
            cuts = [m.end() for m in _SPACE.finditer(text, start + 1, window)]
        return cuts

    def _release(self, cut: int, findings: Sequence[Finding]) -> None:
        guarded = _redacted(self._text, self._shown, cut, findings)
        self._shown = cut
        if self._check_grounding:
            verdict = check_grounding(guarded, self._tool_results)
            if not verdict.grounded:
                self.halted = "ungrounded: " + ", ".join(verdict.unsupported)
                return
        self.released.append(guarded)
        self._on_text(guarded)


def _pem_hold(text: str, start: int) -> int:
    """Where the first PEM block still open after ``start`` begins (else the end): held whole.

    A private key block is open until the PRIVATE_KEY detector's own closing line; any other
    block (or one whose header is still arriving) until an ``-----END ...-----`` line.
    """
    opened = text.find(_PEM_OPEN, start)
    while opened >= 0:
        header = _PEM_HEADER.match(text, opened)
        close = _PEM_CLOSE if header and "PRIVATE KEY" not in header[1] else _KEY_CLOSE
        closed = close.search(text, opened)
        if closed is None:
            return opened
        opened = text.find(_PEM_OPEN, closed.end())
    return len(text)


def _hold_from(text: str, start: int, findings: Sequence[Finding]) -> int:
    """The last release point text still to come cannot move: before any finding that reaches
    the end of the text so far, and before any checked candidate whose context after it is
    still arriving."""
    limit = len(text)
    for finding in findings:
        if finding.end >= len(text):
            limit = min(limit, finding.start)
    for detector in _CHECKED:
        for match in detector.pattern.finditer(text, start):
            if match.end() + CONTEXT_AFTER > len(text):
                limit = min(limit, match.start())
    return limit


def _inside(cut: int, findings: Sequence[Finding]) -> bool:
    return any(f.start < cut < f.end for f in findings)


def _redacted(text: str, start: int, end: int, findings: Sequence[Finding]) -> str:
    """``text[start:end]`` with the findings of the whole text replaced by ``{KIND}``.

    A finding that began before ``start`` (never, by the release rule) still has its rest
    replaced, so no more of it is shown.
    """
    out, last = [], start
    for finding in findings:
        if finding.end <= start or finding.start >= end:
            continue
        out += [text[last : max(finding.start, start)], "{" + finding.kind + "}"]
        last = min(finding.end, end)
    out.append(text[last:end])
    return "".join(out)
