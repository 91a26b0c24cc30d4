"""Sessions on PostgreSQL: any worker resumes any session, one turn at a time per session."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkit.agents.dr.agent import ask, build_advisor, history
from agentkit.agents.sessions import PostgresSessionStore, SessionBusy, advisory_key
from agentkit.cli.app import app
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.errors import InputError

from .conftest import PRIMARY, SECONDARY, SONNET

FIRST = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
SECOND = "RTO 20 minutes and RPO 10 seconds"
AUTOCOMMIT: dict[str, Any] = {"autocommit": True}


def advisor_config(emu: Emulator) -> AgentkitConfig:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "routes": [
                    {"model": SONNET, "region": PRIMARY},
                    {"model": SONNET, "region": SECONDARY},
                ],
                "endpoints": emu.endpoints,
            },
            "resilience": {"timeouts": {"connect_s": 1, "read_s": 5}},
        }
    )


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY])
def test_a_session_started_on_one_worker_continues_on_another(
    bedrock_emulator: Emulator, postgres_dsn: str
) -> None:
    cfg = advisor_config(bedrock_emulator)
    with (
        PostgresSessionStore(postgres_dsn) as one,
        PostgresSessionStore(postgres_dsn) as other,  # another worker: nothing in common but PG
    ):
        first = ask(build_advisor(cfg, checkpointer=one.checkpointer), FIRST, "s1")
        assert not first.degraded
        runtime = build_advisor(cfg, checkpointer=other.checkpointer)
        assert [t["question"] for t in history(runtime, "s1")] == [FIRST]
        ask(runtime, SECOND, "s1")
        turns = history(runtime, "s1")
        assert [t["question"] for t in turns] == [FIRST, SECOND]
        assert turns[0]["answer"] == first.answer
        assert other.sessions() == ["s1"]


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY])
def test_two_workers_answering_one_session_at_once_lose_no_turn(
    bedrock_emulator: Emulator, postgres_dsn: str
) -> None:
    cfg = advisor_config(bedrock_emulator)
    with PostgresSessionStore(postgres_dsn) as one, PostgresSessionStore(postgres_dsn) as other:
        runtimes = [build_advisor(cfg, checkpointer=s.checkpointer) for s in (one, other)]
        threads = [
            threading.Thread(target=ask, args=(runtime, question, "s1"))
            for runtime, question in zip(runtimes, (FIRST, SECOND), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        questions = [t["question"] for t in history(runtimes[0], "s1")]
    assert sorted(questions) == sorted([FIRST, SECOND])  # both turns, one after the other


def test_a_turn_holds_its_session_and_only_its_session(postgres_dsn: str) -> None:
    with (
        PostgresSessionStore(postgres_dsn) as one,
        PostgresSessionStore(postgres_dsn, lock_timeout_s=0.2) as other,
    ):
        with one.turn("s1"):
            with pytest.raises(SessionBusy, match="session s1: busy"), other.turn("s1"):
                pass
            with other.turn("s2"):  # another session is not held up
                pass
        with other.turn("s1"):  # released
            pass


def test_a_worker_that_dies_mid_turn_releases_its_sessions(postgres_dsn: str) -> None:
    one = PostgresSessionStore(postgres_dsn)
    one.locks.acquire("s1")
    one.close()  # its connections go: PostgreSQL drops session-level advisory locks with them
    with PostgresSessionStore(postgres_dsn, lock_timeout_s=0.5) as other, other.turn("s1"):
        pass


def test_concurrent_turns_on_one_session_run_one_after_the_other(postgres_dsn: str) -> None:
    events: list[str] = []
    started = threading.Event()

    def turn(store: PostgresSessionStore, name: str) -> None:
        with store.turn("s1"):
            events.append(f"{name} in")
            started.set()
            threading.Event().wait(0.1)
            events.append(f"{name} out")

    with PostgresSessionStore(postgres_dsn) as one, PostgresSessionStore(postgres_dsn) as other:
        first = threading.Thread(target=turn, args=(one, "a"))
        first.start()
        started.wait(5)
        turn(other, "b")
        first.join()
    assert events == ["a in", "a out", "b in", "b out"]


def test_no_free_lock_connection_is_session_busy_not_a_pool_timeout(postgres_dsn: str) -> None:
    from psycopg_pool import ConnectionPool

    from agentkit.agents.sessions import SessionLocks

    # Advisory locks are database-wide: sessions of this test's own, whoever else runs.
    held, waiting = f"held-{uuid.uuid4().hex}", f"waiting-{uuid.uuid4().hex}"
    # A pool of one, held by another session's turn: the wait for a connection can only fail
    # (the small timeout is the failure's, not a race).
    with ConnectionPool(postgres_dsn, min_size=0, max_size=1, kwargs=AUTOCOMMIT) as pool:
        locks = SessionLocks(pool, timeout_s=0.2)
        locks.acquire(held)
        with pytest.raises(SessionBusy) as busy:
            locks.acquire(waiting)
        assert str(busy.value).startswith(f"session {waiting}: busy: ")
        assert "sessions.pool_size" in str(busy.value)
        assert "\n" not in str(busy.value)
        locks.release(held)
        locks.acquire(waiting)  # the connection is back
        locks.release_all()


def test_no_free_async_lock_connection_is_session_busy_not_a_pool_timeout(
    postgres_dsn: str,
) -> None:
    import asyncio

    from psycopg_pool import AsyncConnectionPool

    from agentkit.agents.sessions import AsyncSessionLocks

    held, waiting = f"held-{uuid.uuid4().hex}", f"waiting-{uuid.uuid4().hex}"

    async def check() -> None:
        async with AsyncConnectionPool(
            postgres_dsn, min_size=0, max_size=1, kwargs=AUTOCOMMIT
        ) as pool:
            locks = AsyncSessionLocks(pool, timeout_s=0.2)
            await locks.aacquire(held)
            expected = rf"session {waiting}: busy: .*sessions\.pool_size"
            with pytest.raises(SessionBusy, match=expected):
                await locks.aacquire(waiting)
            await locks.arelease(held)
            await locks.aacquire(waiting)  # the connection is back
            await locks.release_all()

    asyncio.run(check())


def test_advisory_keys_are_stable_signed_64_bit_and_distinct() -> None:
    keys = {advisory_key(f"s{i}") for i in range(1000)}
    assert len(keys) == 1000
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert advisory_key("s1") == advisory_key("s1")


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY])
def test_ask_session_uses_postgres_when_configured(
    bedrock_emulator: Emulator, postgres_dsn: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentkit.yaml"
    data: dict[str, Any] = advisor_config(bedrock_emulator).model_dump(mode="json")
    data["sessions"] = {"backend": "postgres", "dsn": postgres_dsn}
    config.write_text(json.dumps(data))  # JSON is YAML
    sqlite = tmp_path / "sessions.sqlite"

    def run(question: str) -> dict[str, Any]:
        args = ["ask", "--json", "-c", str(config), "--session", "s1", "--sessions", str(sqlite)]
        result = CliRunner().invoke(app, [*args, question])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    run(FIRST)
    run(SECOND)
    assert not sqlite.exists()  # PostgreSQL, not the local file
    with PostgresSessionStore(postgres_dsn) as store:
        runtime = build_advisor(advisor_config(bedrock_emulator), checkpointer=store.checkpointer)
        assert [t["question"] for t in history(runtime, "s1")] == [FIRST, SECOND]


def test_an_unreachable_database_is_a_one_line_error_not_a_hang() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InputError, match=r"sessions\.dsn: cannot use the PostgreSQL"):
        PostgresSessionStore(f"postgresql://nobody@127.0.0.1:{port}/none", connect_timeout_s=0.5)


# --- the async side (AgentRuntime.arun, `agentkit serve`) ------------------------------------


def test_an_unreachable_database_is_the_same_one_line_error_on_the_async_side() -> None:
    import asyncio
    import socket

    from agentkit.agents.sessions_postgres import open_async_side

    with socket.socket() as sock:  # bound, never listening: every connection is refused
        sock.bind(("127.0.0.1", 0))
        dsn = f"postgresql://nobody@127.0.0.1:{sock.getsockname()[1]}/none"
        with pytest.raises(InputError, match=r"^sessions\.dsn: cannot use the PostgreSQL[^\n]*$"):
            asyncio.run(open_async_side(dsn, connect_timeout_s=0.5))


ASK_TARGETS = "What DR strategy for our Aurora database in eu-west-1?"


def test_an_async_session_started_on_one_worker_continues_on_another(postgres_dsn: str) -> None:
    import asyncio

    from agentkit.agents.dr.agent import aask

    async def both() -> tuple[Any, Any, list[dict[str, str]]]:
        with (
            PostgresSessionStore(postgres_dsn) as one,
            PostgresSessionStore(postgres_dsn) as other,  # nothing in common but PostgreSQL
        ):
            try:
                on_one = build_advisor(AgentkitConfig(), checkpointer=one.checkpointer, model=None)
                first = await aask(on_one, ASK_TARGETS, "s1")
                runtime = build_advisor(
                    AgentkitConfig(), checkpointer=other.checkpointer, model=None
                )
                second = await aask(runtime, SECOND, "s1")
                return first, second, history(runtime, "s1")
            finally:
                await one.aclose()
                await other.aclose()

    first, second, turns = asyncio.run(both())
    assert first.source == "question"  # it asks for the targets
    assert second.strategy == "warm_standby"
    assert second.tool_calls[0]["input"]["primary_region"] == "eu-west-1"  # remembered
    assert [t["question"] for t in turns] == [ASK_TARGETS, SECOND]


def test_two_async_workers_answering_one_session_at_once_lose_no_turn(postgres_dsn: str) -> None:
    import asyncio

    from agentkit.agents.dr.agent import aask

    questions = [f"turn {n}: RTO 5 minutes and RPO 1 minute in us-east-1" for n in range(6)]

    async def race() -> list[dict[str, str]]:
        with PostgresSessionStore(postgres_dsn) as one, PostgresSessionStore(postgres_dsn) as other:
            try:
                runtimes = [
                    build_advisor(AgentkitConfig(), checkpointer=s.checkpointer, model=None)
                    for s in (one, other)
                ]

                # Each worker answers its turns one at a time; the two workers race.
                async def worker(index: int) -> None:
                    for question in questions[index::2]:
                        await aask(runtimes[index], question, "s1")

                await asyncio.gather(worker(0), worker(1))
                return history(runtimes[0], "s1")
            finally:
                await one.aclose()
                await other.aclose()

    turns = asyncio.run(race())
    assert sorted(t["question"] for t in turns) == sorted(questions)  # no turn lost


def test_an_async_turn_holds_its_session_and_only_its_session(postgres_dsn: str) -> None:
    import asyncio

    from agentkit.agents.sessions import AsyncSessionLocks

    async def check() -> None:
        from psycopg_pool import AsyncConnectionPool

        async with (
            AsyncConnectionPool(postgres_dsn, min_size=0, max_size=2, kwargs=AUTOCOMMIT) as a,
            AsyncConnectionPool(postgres_dsn, min_size=0, max_size=2, kwargs=AUTOCOMMIT) as b,
        ):
            one, other = AsyncSessionLocks(a), AsyncSessionLocks(b, timeout_s=0.3)
            await one.aacquire("s1")
            with pytest.raises(SessionBusy, match="session s1: busy"):
                await other.aacquire("s1")
            await other.aacquire("s2")  # another session is not held up
            await one.arelease("s1")
            await other.aacquire("s1")  # released
            await other.release_all()

    asyncio.run(check())
