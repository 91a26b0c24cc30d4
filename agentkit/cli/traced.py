"""A root span per CLI command (``agentkit ask``, ``agentkit runbook plan`` ...), kept cheap.

The exporter comes from ``telemetry:`` in the command's agentkit.yaml (``--config``, else
``./agentkit.yaml``). With ``none`` (the default) or ``OTEL_SDK_DISABLED=true``, nothing of
the OpenTelemetry SDK is imported; the root span then goes to the global tracer provider only
when OpenTelemetry is already loaded (an application or ``opentelemetry-instrument`` set one
up), so ``agentkit fmea`` and the like do not pay for an import that would trace nothing.
With an exporter, the command's providers are scoped to the command (every gateway, runtime and
tool registry it builds uses them) and flushed and shut down when it ends.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from agentkit.config import TelemetryConfig
    from agentkit.telemetry.setup import Telemetry

F = TypeVar("F", bound=Callable[..., Any])
TRACER_NAME = "agentkit.cli"
_TELEMETRY_KEY = re.compile(r"^telemetry\s*:", re.MULTILINE)


def traced(command: str) -> Callable[[F], F]:
    """Run the decorated command inside an ``agentkit {command}`` root span."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            config = kwargs.get("config")
            telemetry = start_telemetry(config if isinstance(config, Path | str) else None)
            tracer = _tracer(telemetry)
            try:
                if tracer is None:
                    return fn(*args, **kwargs)
                with _scope(telemetry), command_span(tracer, command):
                    return fn(*args, **kwargs)
            finally:
                if telemetry is not None:
                    telemetry.shutdown()

        return wrapper  # type: ignore[return-value]

    return decorate


def telemetry_config(config_path: Path | str | None) -> TelemetryConfig | None:
    """The ``telemetry:`` section that applies, or None when it exports nothing. Reading
    agentkit.yaml costs a YAML and pydantic import, so a file without a ``telemetry:`` key is
    not parsed; a file that cannot be read leaves telemetry off (the command itself reports
    what is wrong with it, if it reads it)."""
    from agentkit.telemetry.env import sdk_disabled

    if sdk_disabled():
        return None
    path = Path(config_path) if config_path is not None else Path("agentkit.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None
    if not _TELEMETRY_KEY.search(text):
        return None
    from agentkit.config import load_config
    from agentkit.errors import AgentkitError

    try:
        settings = load_config(path, check_residency=False).telemetry
    except (AgentkitError, ValueError, RecursionError):
        return None
    return settings if settings.exporter != "none" else None


def start_telemetry(config_path: Path | str | None) -> Telemetry | None:
    """The command's own providers when agentkit.yaml configures an exporter, else None."""
    settings = telemetry_config(config_path)
    if settings is None:
        return None
    from agentkit.telemetry.setup import start

    return start(settings)


def _tracer(telemetry: Telemetry | None) -> Tracer | None:
    if telemetry is not None:
        return telemetry.tracer_provider.get_tracer(TRACER_NAME)
    if "opentelemetry.trace" not in sys.modules:
        return None  # nothing could record the span: import nothing
    from agentkit.telemetry.providers import get_tracer

    return get_tracer(TRACER_NAME)  # the global provider, which may be a real one


def _scope(telemetry: Telemetry | None) -> contextlib.AbstractContextManager[Any]:
    return telemetry.scope() if telemetry is not None else contextlib.nullcontext()


@contextlib.contextmanager
def command_span(tracer: Tracer, command: str, **attributes: Any) -> Iterator[Span]:
    """An ``agentkit {command}`` span (INTERNAL, the root of the command's trace) with the
    process exit code the command leads to, and ``error.type`` when it is not 0."""
    from opentelemetry.trace import SpanKind

    from agentkit.telemetry import semconv as sc

    with tracer.start_as_current_span(
        f"agentkit {command}",
        kind=SpanKind.INTERNAL,
        attributes={
            sc.COMMAND: command,
            "process.executable.name": "agentkit",
            "process.pid": os.getpid(),
            **attributes,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as exc:
            _ended(span, exc)
            raise
        span.set_attribute(sc.PROCESS_EXIT_CODE, 0)


def _ended(span: Span, exc: BaseException) -> None:
    """Exit code and error type of a command that raised (``typer.Exit(0)`` is a success)."""
    from opentelemetry.trace import Status, StatusCode

    from agentkit.telemetry import semconv as sc

    code, error_type, message = exit_of(exc)
    span.set_attribute(sc.PROCESS_EXIT_CODE, code)
    if code != 0:
        span.set_attribute(sc.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, message))


def exit_of(exc: BaseException) -> tuple[int, str, str]:
    """(exit code, ``error.type``, one-line description) for what a command raised."""
    from agentkit.cli.errors import describe, one_line

    if isinstance(exc, SystemExit):
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, str(code), f"exit {code}"
    import typer

    if isinstance(exc, typer.Exit):
        return exc.exit_code, str(exc.exit_code), f"exit {exc.exit_code}"
    if isinstance(exc, KeyboardInterrupt):
        return 130, "KeyboardInterrupt", "interrupted"
    message, code = describe(exc)
    return code, type(exc).__name__, _redacted(one_line(message))


def _redacted(message: str) -> str:
    """An error message on a span: it may quote the user's input, so PII is masked."""
    from agentkit.guardrails.pii import redact

    return redact(message).text
