"""The CLI's one error path: any exception becomes one line on stderr and an exit code.

``AgentkitError`` carries its own exit code (2 for bad input, 1 for a runtime failure, 3 for a
failed gate). Python's own exceptions that bad input can provoke (too deep, too large, unreadable,
undecodable) are bad input too; anything else is a runtime failure named by its type, with a hint
to rerun with ``--debug`` for the traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from typing import NoReturn

from agentkit.errors import AgentkitError

BAD_INPUT = 2
RUNTIME = 1
MAX_MESSAGE_CHARS = 500

# OSErrors about a path the user named: fix the path and run again.
_PATH_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


@dataclass
class DebugState:
    """Whether ``--debug`` (or ``AGENTKIT_DEBUG=1``) asked for tracebacks."""

    enabled: bool = False

    @staticmethod
    def from_environment() -> bool:
        return os.environ.get("AGENTKIT_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def one_line(text: str) -> str:
    """``text`` on one line: control characters shown escaped, bounded in length."""
    flat = " ".join(part.strip() for part in text.splitlines() if part.strip())
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[: MAX_MESSAGE_CHARS - 3] + "..."
    return flat


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message (without the ``agentkit: error:`` prefix) and the exit code."""
    if isinstance(exc, AgentkitError):
        return str(exc), exc.exit_code
    if isinstance(exc, RecursionError):
        return "input is nested too deeply to process (RecursionError)", BAD_INPUT
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large (MemoryError)", RUNTIME
    if isinstance(exc, UnicodeError):
        return f"input is not valid UTF-8 text: {exc}", BAD_INPUT
    if isinstance(exc, OSError):
        return _describe_os_error(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return f"sessions database: {exc} (a corrupt one is moved aside on the next run)", RUNTIME
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return f"a number in the input is too large: {exc}", BAD_INPUT
    if isinstance(exc, ValueError) and "null character" in str(exc):
        return "input contains a NUL byte", BAD_INPUT
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"unexpected {message} (run with --debug for the traceback)", RUNTIME


def _describe_os_error(exc: OSError) -> tuple[str, int]:
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = f"{exc.filename}: " if exc.filename is not None else ""
    code = BAD_INPUT if exc.errno in _PATH_ERRNOS else RUNTIME
    return f"{where}{reason}", code


def report_and_exit(exc: BaseException, *, debug: bool) -> NoReturn:
    """Print ``exc`` as one line (after its traceback when debugging) and exit."""
    if isinstance(exc, BrokenPipeError):  # the reader went away (`| head`): nothing to say
        _silence_stdout()
        sys.exit(RUNTIME)
    message, code = describe(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    with contextlib.suppress(OSError, ValueError):  # stderr gone: the exit code still tells
        print(f"agentkit: error: {one_line(message)}", file=sys.stderr)
    sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
