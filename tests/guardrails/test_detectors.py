"""Each detector in the registry, with examples it must catch and look-alikes it must leave."""

from __future__ import annotations

import re

import pytest

from agentkit.guardrails.detectors import (
    DETECTORS,
    Detector,
    iban_valid,
    luhn_valid,
    shannon_entropy,
)
from agentkit.guardrails.pii import ORDER, find_pii, redact, redact_value
from tests.guardrails import fake_secrets as s

POSITIVE: dict[str, list[tuple[str, str]]] = {
    "PRIVATE_KEY": [
        (f"key:\n{s.PEM}\nend", s.PEM_BODY),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
            "-----END PRIVATE KEY-----",
            "MIIEvQ",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
            "-----END OPENSSH PRIVATE KEY-----",
            "b3Blbn",
        ),
        (
            '{"pem": "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIFake\\n'
            '-----END EC PRIVATE KEY-----"}',
            "MHcCAQ",
        ),
        ("truncated -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7fake", "MIIEpA"),
    ],
    "JWT": [
        (f"Authorization: Bearer {s.JWT}", s.JWT),
        ("token eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9. (alg none)", "eyJzdWIiOiJhZG1pbiJ9"),
    ],
    "AWS_ACCESS_KEY": [
        (f"key {s.AWS_ACCESS_KEY} in logs", s.AWS_ACCESS_KEY),
        ("session ASIAY34FZKBOKMUTVV7A from STS", "ASIAY34FZKBOKMUTVV7A"),
        ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ],
    "AWS_SECRET_KEY": [
        (f"AWS_SECRET_ACCESS_KEY={s.AWS_SECRET_KEY}", s.AWS_SECRET_KEY),
        (f"export AWS_SECRET_ACCESS_KEY = '{s.AWS_SECRET_KEY}'", s.AWS_SECRET_KEY),
        (f"aws_secret_access_key={s.AWS_SECRET_KEY}", s.AWS_SECRET_KEY),
        (f'AWS_SECRET_ACCESS_KEY: "{s.AWS_SECRET_KEY}"', s.AWS_SECRET_KEY),
        (f'{{"SecretAccessKey": "{s.AWS_SECRET_KEY}"}}', s.AWS_SECRET_KEY),
        (f"secret_key := {s.AWS_SECRET_KEY}", s.AWS_SECRET_KEY),
        (f"the secret is {s.AWS_SECRET_KEY}", s.AWS_SECRET_KEY),  # by context
        (f"found {s.BARE_SECRET_KEY} in a pasted file", s.BARE_SECRET_KEY),  # by entropy
    ],
    "AWS_SESSION_TOKEN": [
        (f"AWS_SESSION_TOKEN={s.SESSION_TOKEN}", s.SESSION_TOKEN),
        (f'"SessionToken": "{s.SESSION_TOKEN}"', s.SESSION_TOKEN),
    ],
    "GITHUB_TOKEN": [
        (f"git clone https://{s.GITHUB_TOKEN}@github.com/o/r", s.GITHUB_TOKEN),
        (f"GH_TOKEN {s.GITHUB_PAT}", s.GITHUB_PAT),
        ("gho_" + "a1B2" * 9, "gho_"),
        ("ghs_" + "Z9y8" * 9 + " expires", "ghs_"),
        ("ghu_" + "Q" * 36, "ghu_"),
        ("ghr_" + "r0" * 18, "ghr_"),
    ],
    "GITLAB_TOKEN": [(f"PRIVATE-TOKEN: {s.GITLAB_TOKEN}", s.GITLAB_TOKEN)],
    "SLACK_TOKEN": [
        (f"SLACK_BOT={s.SLACK_TOKEN}", s.SLACK_TOKEN),
        ("user xoxp-1111-2222-3333-abcdef0123456789", "xoxp-1111"),
    ],
    "SLACK_WEBHOOK": [(f"page via {s.SLACK_WEBHOOK} now", s.SLACK_WEBHOOK)],
    "PASSWORD": [
        (s.DSN, s.DSN_PASSWORD),
        ("mysql://root:toor-9876@10.0.0.5:3306/app", "toor-9876"),
        ("redis://:r3dis-Pass@cache.example.internal:6379/0", "r3dis-Pass"),
        ("mongodb+srv://ops:m0ngo%40Pass@cluster0.fake.mongodb.net/db", "m0ngo%40Pass"),
        ("amqp://guest:p@ss@w0rd@rabbit:5672/", "p@ss@w0rd"),
        (f"password={s.ASSIGNED_PASSWORD}", s.ASSIGNED_PASSWORD),
        (f'{{"db_password": "{s.ASSIGNED_PASSWORD}"}}', s.ASSIGNED_PASSWORD),
        (f"PGPASSWORD: {s.ASSIGNED_PASSWORD}", s.ASSIGNED_PASSWORD),
        ("jdbc:postgresql://db:5432/app?user=app&password=jdbcPass42", "jdbcPass42"),
    ],
    "SECRET": [
        ("api_key=sk_live_51FakeFakeFake", "sk_live_51FakeFakeFake"),
        ('"client_secret": "8Q~fakeClientSecretValue"', "8Q~fakeClientSecretValue"),
        ("DATADOG_API_KEY=abcdef0123456789abcdef0123456789", "abcdef0123456789"),
    ],
    "EMAIL": [(f"mail {s.EMAIL} now", s.EMAIL)],
    "IBAN": [
        (f"pay to {s.IBAN} today", s.IBAN),
        (f"IBAN {s.IBAN_SPACED} (UK)", s.IBAN_SPACED),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004"),
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
    ],
    "CREDIT_CARD": [
        (f"card {s.CARD} exp", s.CARD),
        ("card 5500-0000-0000-0004", "5500-0000-0000-0004"),
        ("amex 378282246310005", "378282246310005"),
    ],
    "US_SSN": [(f"ssn {s.SSN}", s.SSN)],
    "AWS_ACCOUNT_ID": [
        (f"assume role in account {s.ACCOUNT_ID} please", s.ACCOUNT_ID),
        (f"arn:aws:iam::{s.ACCOUNT_ID}:role/dr", s.ACCOUNT_ID),
    ],
    "PHONE": [
        (f"call {s.PHONE} today", s.PHONE),
        ("call (415) 555-0199 today", "(415) 555-0199"),
        ("ring +44 20 7946 0958", "+44 20 7946 0958"),
    ],
    "IP_ADDRESS": [("host 10.20.30.40 is down", "10.20.30.40")],
}

NEGATIVE: dict[str, list[str]] = {
    "PRIVATE_KEY": [
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n"
        "-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
        "-----END PUBLIC KEY-----",
        "rotate the private key in Secrets Manager",
    ],
    "JWT": ["the header eyJhbGci is truncated", "a.b.c version 1.2.3"],
    "AWS_ACCESS_KEY": ["AKIA is the prefix of long-term keys", "AKIAIOSFODNN7EXAMPL too short"],
    "AWS_SECRET_KEY": [
        "commit 4f2a9c1e0b7d3a6f5e8c9b0a1d2e3f4a5b6c7d8e",  # a hash is not a secret key
        "aws_secret_access_key = {AWS_SECRET_KEY}",  # already redacted
        "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",  # a reference, not a value
        "see /usr/local/share/agentkit/runbooks/aurora",
        "ThisIsAVeryLongCamelCaseIdentifierNameX",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
    "AWS_SESSION_TOKEN": ["the session token expired"],
    "GITHUB_TOKEN": ["ghp_short", "use a ghp_ token with repo scope", "sha ghp_"],
    "GITLAB_TOKEN": ["glpat-short", "create a glpat- token"],
    "SLACK_TOKEN": ["xoxb- tokens are bot tokens", "xoxz-1234567890-abcdef"],
    "SLACK_WEBHOOK": ["post to hooks.slack.com", "https://hooks.slack.com/"],
    "PASSWORD": [
        "postgres://orders-db:5432/orders",
        "https://example.com/path@v2",
        "ssh://git@github.com:org/repo",
        "password=****",
        "password: {PASSWORD}",
        "rotate the password every 90 days",
        "the password policy requires MFA",
    ],
    "SECRET": ["token: short", "max_tokens=4096", "the api key is in Secrets Manager"],
    "EMAIL": ["user at example dot com", "@oncall please look"],
    "IBAN": [
        "DE89370400440532013001",  # checksum fails
        "GB82 WEST 1234 5698 7654 33",
        "order AB12CDEF34567890 shipped",
        "us-east-1 and eu-west-1",
    ],
    "CREDIT_CARD": ["card 4111 1111 1111 1112", "between 2026-01-01 and 2026-02-01"],
    "US_SSN": ["000-12-3456", "666-12-3456", "123-00-4567", "2026-01-01"],
    "AWS_ACCOUNT_ID": ["order 123456789012 shipped", "unix time 170000000012 ms"],
    "PHONE": ["botocore 1.44.5 on Python 3.11.7", "RTO 15 minutes, RPO 1 minute"],
    "IP_ADDRESS": ["version 1.2.3", "300.1.1.1 is not an address", "10.20.30"],
}


def _kind_text(kind: str, text: str) -> list[str]:
    return [f.text for f in find_pii(text) if f.kind == kind]


@pytest.mark.parametrize(
    ("kind", "text", "secret"),
    [(kind, text, secret) for kind, cases in POSITIVE.items() for text, secret in cases],
)
def test_each_detector_catches_its_examples(kind: str, text: str, secret: str) -> None:
    found = _kind_text(kind, text)
    assert any(secret in value or value in secret for value in found), (kind, text, found)
    assert secret not in redact(text).text or len(secret) < 8


@pytest.mark.parametrize(
    ("kind", "text"), [(kind, text) for kind, texts in NEGATIVE.items() for text in texts]
)
def test_each_detector_leaves_look_alikes(kind: str, text: str) -> None:
    assert _kind_text(kind, text) == [], (kind, text)


def test_every_kind_has_positive_and_negative_examples() -> None:
    assert set(POSITIVE) == set(ORDER) == set(NEGATIVE)
    assert all(d.description for d in DETECTORS.detectors)


def test_only_the_secret_part_is_redacted() -> None:
    assert redact(s.DSN).text.startswith("postgres://app_user:{PASSWORD}@orders-db.")
    assert redact("PGPASSWORD=hunter2hunter2").text == "PGPASSWORD={PASSWORD}"
    assert redact(f"x {s.PEM} y").text == "x {PRIVATE_KEY} y"


def test_checksums() -> None:
    assert iban_valid(s.IBAN)
    assert iban_valid(s.IBAN_SPACED)
    assert not iban_valid("DE00370400440532013000")
    assert not iban_valid("1234")
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy(s.BARE_SECRET_KEY) > shannon_entropy("4f2a9c1e0b7d3a6f5e8c9b0a1d2e3f4a")


def test_the_registry_takes_new_detectors() -> None:
    ticket = Detector("TICKET", re.compile(r"\bINC-\d{6}\b"), description="incident tickets")
    registry = DETECTORS.register(ticket, before="EMAIL")
    assert "TICKET" in registry.kinds
    assert "TICKET" not in DETECTORS.kinds
    assert redact("see INC-123456", registry=registry).text == "see {TICKET}"
    with pytest.raises(KeyError):
        find_pii("x", ("NOPE",))


def test_redact_value_reaches_keys_bytes_and_stops_at_depth() -> None:
    assert redact_value({s.EMAIL: b"password=hunter2hunter2"}) == {"{EMAIL}": "password={PASSWORD}"}
    deep: list[object] = []
    cursor = deep
    for _ in range(1000):
        cursor.append([])
        cursor = cursor[0]  # type: ignore[assignment]
    assert "TOO_DEEP" in repr(redact_value(deep))


def test_a_question_with_every_family_keeps_none_raw() -> None:
    question = " ".join(
        [
            f"AWS_ACCESS_KEY_ID={s.AWS_ACCESS_KEY} AWS_SECRET_ACCESS_KEY={s.AWS_SECRET_KEY}",
            f"stray {s.BARE_SECRET_KEY} and AWS_SESSION_TOKEN={s.SESSION_TOKEN}",
            f"{s.PEM} jwt {s.JWT} db {s.DSN} password={s.ASSIGNED_PASSWORD}",
            f"{s.GITHUB_TOKEN} {s.GITHUB_PAT} {s.GITLAB_TOKEN} {s.SLACK_TOKEN} {s.SLACK_WEBHOOK}",
            f"iban {s.IBAN} / {s.IBAN_SPACED} card {s.CARD} mail {s.EMAIL} phone {s.PHONE}",
            f"ssn {s.SSN} account {s.ACCOUNT_ID}",
        ]
    )
    redacted = redact(question).text
    leaked = [name for name, value in s.EVERY_SECRET.items() if value in redacted]
    assert leaked == []
