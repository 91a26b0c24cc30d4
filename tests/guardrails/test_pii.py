from __future__ import annotations

import pytest

from agentkit.guardrails.pii import find_pii, redact, redact_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+ops@example.co.uk now", "mail {EMAIL} now"),
        ("call +1 415-555-0199 today", "call {PHONE} today"),
        ("call (415) 555-0199 today", "call {PHONE} today"),
        ("ring +44 20 7946 0958", "ring {PHONE}"),
        ("card 4111 1111 1111 1111 exp", "card {CREDIT_CARD} exp"),
        ("card 5500-0000-0000-0004", "card {CREDIT_CARD}"),
        ("key AKIAIOSFODNN7EXAMPLE in logs", "key {AWS_ACCESS_KEY} in logs"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = {AWS_SECRET_KEY}",
        ),
        (
            "assume role in account 123456789012 please",
            "assume role in account {AWS_ACCOUNT_ID} please",
        ),
        ("arn:aws:iam::123456789012:role/dr", "arn:aws:iam::{AWS_ACCOUNT_ID}:role/dr"),
        ("ssn 078-05-1120", "ssn {US_SSN}"),
    ],
)
def test_each_kind_is_redacted(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "RTO 15 minutes, RPO 1 minute, tier 1 in eu-west-1",
        "botocore 1.44.5 on Python 3.11.7",
        "order 123456789012 shipped",  # 12 digits, no credentials context
        "commit 4f2a9c1e0b7d3a6f5e8c9b0a1d2e3f4a5b6c7d8e",  # a hash is not a secret key
        "card 4111 1111 1111 1112",  # fails the Luhn check
        "between 2026-01-01 and 2026-02-01",
        "run the us-east-1 to us-west-2 failover at 02:00",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert find_pii(text) == []


def test_redact_value_walks_payloads() -> None:
    payload = {"contact": ["ops@example.com", {"phone": "+1 415 555 0199"}], "rto": 15}
    assert redact_value(payload) == {"contact": ["{EMAIL}", {"phone": "{PHONE}"}], "rto": 15}
