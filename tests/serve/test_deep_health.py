"""Deep health reads what the serving worker knows beside the canary probes: its breakers and its
session store. Healthy while one route answers and the sessions can be read; never unhealthy
for one dead route or for a backend the worker can do without."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.agents.sessions import SessionStore
from agentkit.bedrock.canary import CanaryResult, CanaryRun, CostBound
from agentkit.bedrock.health import Backend, deep_health
from agentkit.emulator import Emulator
from tests.scaleout.conftest import postgres_dsn  # noqa: F401  (a schema of this test's own)
from tests.serve.test_http import (  # noqa: F401  (serve: the app fixture)
    FALLBACK,
    PRIMARY,
    emulator_config,
    serve,
)

QUESTION = "Payments API on Aurora in us-east-1, RTO 15 min, RPO 1 min: what do we do?"


def probe(route: str, ok: bool) -> CanaryResult:
    return CanaryResult(
        route=route,
        model="m",
        region=route.rsplit("@", 1)[-1],
        ok=ok,
        at="2026-12-07T00:00:00Z",
        latency_s=0.1,
        last_success=None,
        error_type=None if ok else "RegionUnavailable",
        message=None if ok else "down",
    )


def run_of(*results: CanaryResult) -> CanaryRun:
    return CanaryRun("2026-12-07T00:00:00Z", CostBound(len(results), 1, 1), list(results))


A, B = "m@us-east-1", "m@us-west-2"


def test_a_route_whose_breaker_is_open_does_not_answer_even_when_its_probe_does() -> None:
    both_open = deep_health(run_of(probe(A, True), probe(B, True)), breakers={A: "open", B: "open"})
    assert not both_open.healthy
    assert "circuit breaker is open" in both_open.reason
    one_open = deep_health(run_of(probe(A, True), probe(B, True)), breakers={A: "open"})
    assert one_open.healthy
    assert one_open.reason == f"{B} answers; 1 of 2 route(s) down, the chain falls back"
    half_open = deep_health(run_of(probe(A, True)), breakers={A: "half-open"})
    assert half_open.healthy  # the next request is the probe that closes it
    assert half_open.to_json()["routes"][0]["breaker"] == "half-open"


def test_a_required_backend_down_is_unhealthy_and_an_optional_one_is_only_reported() -> None:
    answering = run_of(probe(A, True))
    sessions_down = deep_health(answering, backends=[Backend("sessions (postgres)", "refused")])
    assert not sessions_down.healthy
    assert sessions_down.reason == "cannot answer without sessions (postgres): refused"
    state_down = deep_health(answering, backends=[Backend("state (redis)", "refused", False)])
    assert state_down.healthy
    assert state_down.to_json()["backends"] == [
        {"name": "state (redis)", "ok": False, "required": False, "detail": "refused"}
    ]


def test_a_sqlite_store_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.sqlite")
    assert store.unreachable() is None
    store.close()
    problem = store.unreachable()
    assert problem is not None
    assert str(tmp_path / "sessions.sqlite") in problem


def breaker_config(tmp_path: Path, emu: Emulator) -> Path:
    endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        "models:\n  residency: us\n  routes:\n"
        f"    - {{model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: {PRIMARY}}}\n"
        f"    - {{model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: {FALLBACK}}}\n"
        f"  endpoints: {{{endpoints}}}\n"
        "resilience:\n  timeouts: {connect_s: 1, read_s: 5}\n  retry: {max_attempts: 1}\n"
        "  breaker: {fail_max: 1, reset_timeout_s: 3600}\n"
    )
    return path


@pytest.mark.emulator(regions=[PRIMARY, FALLBACK])
def test_with_every_serving_breaker_open_the_worker_is_unhealthy_though_probes_answer(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    bedrock_emulator: Emulator,
) -> None:
    served = serve(breaker_config(tmp_path, bedrock_emulator), health_ttl_s=0)
    assert served.client.get("/health").status_code == 200
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"down": True}, FALLBACK: {"down": True}}})
    assert served.ask(QUESTION).status_code == 200  # a degraded answer; both breakers trip
    bedrock_emulator.set_faults({})  # the Regions are back; this worker's breakers are not
    report = served.client.get("/health")
    assert report.status_code == 503
    assert "circuit breaker is open" in report.json()["reason"]
    assert {r["breaker"] for r in report.json()["routes"]} == {"open"}
    assert report.json()["backends"][0]["ok"] is True


@pytest.fixture
def own_role(postgres_dsn: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    """A login role of this test's own on the test schema: (its DSN, its name)."""
    import psycopg

    admin = postgres_dsn.split("?", 1)[0]
    schema = postgres_dsn.rsplit("%3D", 1)[-1]
    role = f"agentkit_health_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
    dsn = postgres_dsn.replace("postgres@", f"{role}@", 1)
    try:
        yield dsn, role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{role}" LOGIN')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
            )
            conn.execute(f'DROP OWNED BY "{role}" CASCADE')
            conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.emulator(regions=[PRIMARY])
def test_a_session_database_that_refuses_the_worker_makes_it_unhealthy_until_it_is_back(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    bedrock_emulator: Emulator,
    own_role: tuple[str, str],
    postgres_dsn: str,  # noqa: F811
) -> None:
    import psycopg

    dsn, role = own_role
    config = emulator_config(tmp_path, bedrock_emulator)
    config.write_text(
        config.read_text() + f'sessions: {{backend: postgres, dsn: "{dsn}", pool_size: 1}}\n'
    )
    served = serve(config, health_ttl_s=0)
    healthy = served.client.get("/health")
    assert healthy.status_code == 200
    assert healthy.json()["backends"] == [
        {"name": "sessions (postgres)", "ok": True, "required": True, "detail": None}
    ]
    admin = postgres_dsn.split("?", 1)[0]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
        )
    down = served.client.get("/health")
    assert down.status_code == 503
    assert down.json()["reason"].startswith("cannot answer without sessions (postgres): ")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" LOGIN')
    assert served.client.get("/health").status_code == 200
