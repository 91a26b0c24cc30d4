"""What the emulator accepts: bounded bodies, bounded nesting, patterns that cannot stall it.

A request or fault plan beyond these limits is refused with Bedrock's error shape (413 for a body
that is too large, 400 ``ValidationException`` for one nested too deeply) before any work is done
on it, so one bad client never stalls the other Regions served by the same event loop.
"""

from __future__ import annotations

import re
from typing import Any

MAX_REQUEST_BYTES = 25 * 1024 * 1024  # a Bedrock Runtime request, documents and images included
MAX_PLAN_BYTES = 1024 * 1024  # a fault plan sent to PUT /faults
MAX_REQUEST_DEPTH = 128  # nested objects and arrays in a request body
MAX_PATTERN_CHARS = 1000  # a regex in a script or a guardrail
MAX_MATCH_CHARS = 100_000  # text a script or guardrail regex is searched in


def check_pattern(pattern: str) -> str:
    """``pattern`` if it compiles and cannot backtrack exponentially; else a ValueError.

    Refused: an unbounded repetition inside another, such as ``(a+)+`` or ``(\\w+\\s?)*``, the
    usual shape of catastrophic backtracking (conservatively: some such patterns are safe).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"regex longer than {MAX_PATTERN_CHARS} characters")
    try:
        re.compile(pattern)
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    if _nested_unbounded(tree, inside=False):
        raise ValueError(
            f"regex {pattern!r} nests one unbounded repetition in another (like (a+)+), "
            "which can take exponential time: rewrite it"
        )
    return pattern


def _nested_unbounded(items: Any, *, inside: bool) -> bool:
    from re import _constants  # type: ignore[attr-defined]

    repeats = (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT)
    for op, arg in items:
        if op in repeats:
            _low, high, sub = arg
            unbounded = high == _constants.MAXREPEAT or high > 1000
            if unbounded and inside and op != _constants.POSSESSIVE_REPEAT:
                return True
            if _nested_unbounded(sub, inside=inside or unbounded):
                return True
        elif op == _constants.SUBPATTERN:
            if _nested_unbounded(arg[-1], inside=inside):
                return True
        elif op == _constants.BRANCH:
            if any(_nested_unbounded(branch, inside=inside) for branch in arg[1]):
                return True
        elif op in (_constants.ASSERT, _constants.ASSERT_NOT):
            if _nested_unbounded(arg[1], inside=inside):
                return True
        elif op == _constants.ATOMIC_GROUP and _nested_unbounded(arg, inside=inside):
            return True
    return False
