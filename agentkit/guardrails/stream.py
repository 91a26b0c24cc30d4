"""Streamed text guarded at the source: nothing reaches the screen before the guard has seen it.

A model streams an answer in small deltas; a secret or an ungrounded claim can straddle several
of them. :class:`GuardedText` holds the text back and releases it a sentence at a time (or, in a
long run without a sentence end, all but a tail window), each released piece redacted and checked
for grounding against the tool results. A PEM block is held whole. Once a sentence fails the
grounding check nothing more is released: the caller shows the guarded final answer instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agentkit.guardrails.grounding import check_grounding
from agentkit.guardrails.pii import redact

# A sentence ends at ". ", "! ", "? " or a line break; the release point is just after it.
_SENTENCE_END = re.compile(r"[.!?](?=\s)\s+|\n+")
_PEM_OPEN = "-----BEGIN"
_PEM_CLOSE = re.compile(r"-----END [A-Z0-9 ]+-----")
WINDOW = 400  # without a sentence end, release all but the last TAIL characters past this
TAIL = 160  # longer than any single secret the detectors know (a JWT may be long: held whole)


class GuardedText:
    """Wrap ``on_text``: call it with guarded text only. Call :meth:`close` at the end."""

    def __init__(
        self, on_text: Callable[[str], None], tool_results: Any = None, grounded: bool = True
    ) -> None:
        self._on_text = on_text
        self._tool_results = tool_results
        self._check_grounding = grounded and tool_results is not None
        self._pending = ""
        self.halted: str | None = None  # why release stopped, when it did
        self.released: list[str] = []

    def __call__(self, delta: str) -> None:
        if self.halted is not None:
            return
        self._pending += delta
        cut = self._release_point()
        if cut:
            piece, self._pending = self._pending[:cut], self._pending[cut:]
            self._release(piece)

    def close(self) -> None:
        """The stream ended: release what is left, guarded."""
        if self.halted is None and self._pending:
            piece, self._pending = self._pending, ""
            self._release(piece)

    def _release_point(self) -> int:
        text = self._pending
        opened = text.rfind(_PEM_OPEN)
        if opened >= 0 and not _PEM_CLOSE.search(text, opened):
            return _last_sentence_end(text[:opened])  # hold the key block whole
        cut = _last_sentence_end(text)
        if cut == 0 and len(text) > WINDOW:
            space = text.rfind(" ", 0, len(text) - TAIL)
            cut = space + 1 if space > 0 else 0
        return cut

    def _release(self, piece: str) -> None:
        guarded = redact(piece).text
        if self._check_grounding:
            verdict = check_grounding(guarded, self._tool_results)
            if not verdict.grounded:
                self.halted = "ungrounded: " + ", ".join(verdict.unsupported)
                return
        self.released.append(guarded)
        self._on_text(guarded)


def _last_sentence_end(text: str) -> int:
    last = 0
    for match in _SENTENCE_END.finditer(text):
        last = match.end()
    return last
