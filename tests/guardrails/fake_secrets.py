"""Fake secrets of every family, shaped like real ones, shared by the detector and leak tests.

None of these is a live credential: the AWS pair is AWS's documented example, the others are
made of the right prefix and length around obviously fake characters.
"""

from __future__ import annotations

AWS_ACCESS_KEY = "AKIAZ7Q4EXAMPLE3XK2M"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BARE_SECRET_KEY = "Qm9vbXRvd24vR3JlYXRFeGFtcGxlS2V5MDA5aZ7x"  # 40 characters, random-looking
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFakeSessionTokenValue0123456789abcdEXAMPLE"
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw"
PEM = (
    f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n7bKvWQa9Zx3fake0line2\n"
    "-----END RSA PRIVATE KEY-----"
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkci1hZHZpc29yIiwiaWF0IjoxNzAwMDAwMDAwfQ"
    ".c2lnbmF0dXJlLW5vdC1yZWFsLWZha2UtZmFrZS1mYWtl"
)
DSN_PASSWORD = "S3cr3t-Pg-pass!"
DSN = f"postgres://app_user:{DSN_PASSWORD}@orders-db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/orders"
ASSIGNED_PASSWORD = "Hunter2-Prod-9x"
GITHUB_TOKEN = "ghp_FAKEa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
GITHUB_PAT = "github_pat_11FAKE0000_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9"
GITLAB_TOKEN = "glpat-FAKEx1y2z3A4B5C6D7E8"
SLACK_TOKEN = "xoxb-1234567890-0987654321-FAKEabcdefGHIJKL"
SLACK_WEBHOOK = "https://hooks.slack.com/services/T0FAKE000/B0FAKE000/XXXXfakeXXXXfakeXXXX"
IBAN = "DE89370400440532013000"
IBAN_SPACED = "GB82 WEST 1234 5698 7654 32"
CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe+oncall@example.com"
PHONE = "+1 415-555-0199"
SSN = "078-05-1120"
ACCOUNT_ID = "123456789012"

# Raw values that must never be stored, printed or exported once redaction has run.
EVERY_SECRET = {
    "aws access key": AWS_ACCESS_KEY,
    "aws secret key": AWS_SECRET_KEY,
    "bare secret key": BARE_SECRET_KEY,
    "aws session token": SESSION_TOKEN,
    "pem private key": PEM_BODY,
    "jwt": JWT,
    "dsn password": DSN_PASSWORD,
    "password assignment": ASSIGNED_PASSWORD,
    "github token": GITHUB_TOKEN,
    "github fine-grained token": GITHUB_PAT,
    "gitlab token": GITLAB_TOKEN,
    "slack token": SLACK_TOKEN,
    "slack webhook": SLACK_WEBHOOK,
    "iban": IBAN,
    "iban spaced": IBAN_SPACED,
    "card": CARD,
    "email": EMAIL,
    "phone": PHONE,
    "ssn": SSN,
    "aws account id": ACCOUNT_ID,
}
