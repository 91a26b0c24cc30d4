"""Backends against the real services: Redis and PostgreSQL on loopback (never mocked).

``AGENTKIT_TEST_REDIS_URL`` / ``AGENTKIT_TEST_POSTGRES_DSN`` name them (``.ci/run`` sets both);
without them these tests skip with a reason, except where ``AGENTKIT_REQUIRE_BACKENDS=1``
(``.ci/run``): there a backend test that cannot run fails, so CI never passes on a skip. Each
test gets its own key prefix or schema, removed afterwards, so tests (and people) sharing one
server never see each other's state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
PRIMARY, SECONDARY, TERTIARY = "us-east-1", "us-west-2", "us-east-2"
HI = [{"role": "user", "content": [{"text": "hi"}]}]


def backend_missing(reason: str) -> None:
    """Skip this backend test with ``reason``; fail it where the backends are required."""
    if os.environ.get("AGENTKIT_REQUIRE_BACKENDS") == "1":
        pytest.fail(f"AGENTKIT_REQUIRE_BACKENDS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("AGENTKIT_TEST_REDIS_URL")
    if not url:
        backend_missing("AGENTKIT_TEST_REDIS_URL is not set (a Redis to test the shared state on)")
    assert url is not None
    return url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    name = f"agentkit-test-{uuid.uuid4().hex[:12]}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=name + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN whose search_path is a schema of this test's own, dropped afterwards."""
    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if not dsn:
        backend_missing("AGENTKIT_TEST_POSTGRES_DSN is not set (a PostgreSQL to test sessions on)")
    assert dsn is not None
    import psycopg

    schema = f"agentkit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def fleet_config(emu: Emulator, url: str, prefix: str, **sections: Any) -> AgentkitConfig:
    """Three routes on the emulator, resilience state on Redis under ``prefix``."""
    base: dict[str, Any] = {
        "models": {
            "residency": "us",
            "routes": [
                {"model": SONNET, "region": PRIMARY},
                {"model": SONNET, "region": SECONDARY},
                {"model": NOVA, "region": TERTIARY},
            ],
            "endpoints": emu.endpoints,
        },
        "resilience": {
            "timeouts": {"connect_s": 1.0, "read_s": 1.0},
            "retry": {"max_attempts": 3, "base_delay_s": 0.2, "budget_ratio": 0.2},
            "breaker": {"fail_max": 5, "reset_timeout_s": 30},
            "state": {"backend": "redis", "url": url, "prefix": prefix},
        },
        "limits": {"max_tokens": 64, "deadline_s": 60},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return AgentkitConfig.model_validate(base)


def calls_to(emu: Emulator, region: str) -> int:
    return sum(1 for c in emu.calls() if c.region == region)
