"""Property: however the model's text is cut into deltas, what the guard releases is exactly
``redact(full_text).text`` so far, so no secret the full text would hide is ever shown raw."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from agentkit.guardrails.pii import redact
from agentkit.guardrails.stream import GuardedText
from tests.fuzz.conftest import fuzz
from tests.guardrails import fake_secrets as fake

PROSE = (
    "Warm standby fits this workload.",
    "Fail over to the standby Region!",
    "Is the replica lag under a minute?",
    "Settings",
    "Rotate it after the drill.",
    "Then verify the health checks",
    "Order 7 ships on Monday.",
)
# The secrets in the spellings the detectors know, with the context some of them need.
SECRETS = (
    f"password:\n  {fake.ASSIGNED_PASSWORD}",
    f"db password: {fake.ASSIGNED_PASSWORD}",
    f'"password": "{fake.ASSIGNED_PASSWORD}"',
    f"DB_PASS={fake.ASSIGNED_PASSWORD}",
    f"password\n: {fake.ASSIGNED_PASSWORD}",
    f"AWS_SECRET_ACCESS_KEY={fake.AWS_SECRET_KEY}",
    f"aws_session_token = {fake.SESSION_TOKEN}",
    f"API_KEY={fake.GITHUB_TOKEN}",
    f"the secret key is\n{fake.BARE_SECRET_KEY}",
    f"{fake.BARE_SECRET_KEY}",
    f"{fake.AWS_ACCESS_KEY}",
    fake.PEM,
    f"connect with {fake.DSN}",
    fake.JWT,
    fake.GITHUB_PAT,
    fake.GITLAB_TOKEN,
    fake.SLACK_TOKEN,
    fake.SLACK_WEBHOOK,
    fake.IBAN,
    fake.IBAN_SPACED,
    fake.CARD,
    fake.EMAIL,
    fake.PHONE,
    fake.SSN,
    f"account {fake.ACCOUNT_ID}",
    f"{fake.ACCOUNT_ID}.\nAn account id",  # its context only comes after a sentence end
)
SEPARATORS = (" ", "\n", ". ", ".\n", "\n\n", "\n  ")
FILLER = st.integers(min_value=0, max_value=90).map(lambda n: "word " * n)  # window cuts
PART = st.one_of(st.sampled_from(PROSE), st.sampled_from(SECRETS), FILLER)
TEXT = st.lists(st.tuples(PART, st.sampled_from(SEPARATORS)), min_size=1, max_size=10).map(
    lambda parts: "".join(part + sep for part, sep in parts)
)


def stream(text: str, sizes: list[int]) -> tuple[list[str], str]:
    """``text`` fed in deltas of ``sizes`` (cycled); what was shown after each delta, and in all."""
    seen: list[str] = []
    guarded = GuardedText(seen.append)
    shown_after: list[str] = []
    start = 0
    for index in range(len(text)):
        size = sizes[index % len(sizes)]
        if start >= len(text):
            break
        guarded(text[start : start + size])
        start += size
        shown_after.append("".join(seen))
    guarded.close()
    return shown_after, "".join(seen)


@fuzz(250)
@given(TEXT, st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8))
@example(f"Warm standby fits. Settings\npassword:\n  {fake.ASSIGNED_PASSWORD}\nDone.", [4])
@example("word " * 230 + f"db password: {fake.ASSIGNED_PASSWORD} and more " * 40, [1])
@example(f"Use {fake.ACCOUNT_ID}.\nIt is the account id.", [1])
def test_what_is_released_is_the_redacted_full_text(text: str, sizes: list[int]) -> None:
    expected = redact(text).text
    present = [s for s in fake.EVERY_SECRET.values() if s in text]
    assert all(s not in expected for s in present)  # the full text's redaction hides them all
    shown_after, shown = stream(text, sizes)
    for partial in shown_after:
        assert expected.startswith(partial)  # never anything the full text would redact
        assert not any(s in partial for s in present)
    assert shown == expected
