"""``agentkit.guardrail.events``: one count each time a guard acts on a run's text.

Recorded where every guardrail event of a run is made (:meth:`RunContext.guardrail_event
<agentkit.graph.context.RunContext.guardrail_event>`), with three attributes and nothing else,
never the text or the evidence (those stay on the run's span, already redacted):

- ``agentkit.guard``: ``input`` (the input guard), ``output`` (the output guard), ``bedrock`` (a
  Bedrock guardrail intervened on a model call: stop reason ``guardrail_intervened``);
- ``agentkit.guardrail.action``: what it did (``blocked``, ``redacted``, ``replaced``,
  ``intervened``), as the caller said;
- ``agentkit.guardrail.kind``: why, read from the reason the guard wrote (:func:`kind_of`):
  ``injection``, ``off_topic``, ``pii``, ``secret``, ``ungrounded``, ``guardrail`` (Bedrock's
  stop reason does not say which of its policies intervened), else ``other``.
"""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider

from agentkit.telemetry import providers
from agentkit.telemetry import semconv as sc

EVENT_GUARDRAIL = "agentkit.guardrail"  # the span event beside each count: stage, action, detail
INJECTION, OFF_TOPIC, PII, SECRET = "injection", "off_topic", "pii", "secret"
UNGROUNDED, GUARDRAIL, OTHER = "ungrounded", "guardrail", "other"
BEDROCK = "bedrock"  # the guard of a Bedrock guardrail's intervention
BLOCKING = ("blocked", "intervened")  # the actions that kept an answer from the user

# The redaction kinds of agentkit.guardrails.detectors that are personal data; every other kind
# is a credential (tests/telemetry/test_guardrail_events.py checks each detector is one or the
# other, so a new detector is classified on purpose).
PERSONAL_DATA = frozenset(
    {"EMAIL", "IBAN", "CREDIT_CARD", "US_SSN", "AWS_ACCOUNT_ID", "PHONE", "IP_ADDRESS"}
)


def kind_of(guard: str, reason: str) -> str:
    """The kind of a reason :class:`agentkit.guardrails.InputGuard` or ``OutputGuard`` wrote:
    ``prompt injection (...)``, ``off topic (...)`` / ``no resilience topic found``,
    ``redacted <DETECTOR>``, ``unsupported <claim>``."""
    if guard == BEDROCK:
        return GUARDRAIL
    if reason.startswith("prompt injection"):
        return INJECTION
    if reason.startswith(("off topic", "no resilience topic")):
        return OFF_TOPIC
    if reason.startswith("redacted "):
        return PII if reason.removeprefix("redacted ") in PERSONAL_DATA else SECRET
    if reason.startswith("unsupported "):
        return UNGROUNDED
    return OTHER


class GuardrailMetrics:
    """The guardrail event counter of one meter provider (the CLI command's, else the global)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = providers.get_meter("agentkit.guardrails", meter_provider)
        self.events = meter.create_counter(
            sc.METRIC_GUARDRAIL_EVENTS,
            unit="{event}",
            description="Times a guard blocked, redacted, replaced or intervened, by guard, "
            "action and kind",
        )

    def record(self, guard: str, action: str, reason: str) -> None:
        self.events.add(
            1,
            {
                sc.GUARD: guard,
                sc.GUARDRAIL_ACTION: action,
                sc.GUARDRAIL_KIND: kind_of(guard, reason),
            },
        )
