"""`agentkit serve` on PostgreSQL sessions and the emulator: 50 sessions asked at once, twice,
answered on the event loop (the default 16 at a time), each follow-up continuing its own session.

LangGraph's ``AsyncPostgresSaver`` (de)serialises checkpoints in the loop's default executor
(``asyncio.to_thread``), so the loop gets a small executor here: only that work may use it, the
turns themselves never do (tests/serve/test_http_async.py proves no executor at all on a store
without it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit.emulator import Emulator
from agentkit.serve.http import create_app
from agentkit.serve.http_service import Advisor, ServeSettings
from tests.serve.test_http_async import TURNS

from .conftest import PRIMARY, SECONDARY
from .test_postgres_sessions import FIRST, SECOND, advisor_config


class SaverOnly(concurrent.futures.ThreadPoolExecutor):
    """Two threads, and the names of what used them."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.used: set[str] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        work = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        self.used.add(f"{getattr(work, '__module__', '?')}:{getattr(work, '__qualname__', work)}")
        return super().submit(fn, *args, **kwargs)


def open_advisor(emu: Emulator, dsn: str, tmp_path: Path) -> tuple[Advisor, Any]:
    data: dict[str, Any] = advisor_config(emu).model_dump(mode="json")
    data["sessions"] = {"backend": "postgres", "dsn": dsn}
    config = tmp_path / "agentkit.yaml"
    config.write_text(json.dumps(data))  # JSON is YAML
    settings = ServeSettings(config=str(config), canary_state=str(tmp_path / "canary.json"))
    advisor = Advisor.open(settings)
    return advisor, create_app(advisor, settings)


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY])
def test_50_sessions_at_once_twice_on_postgres_keep_their_sessions(
    bedrock_emulator: Emulator, postgres_dsn: str, tmp_path: Path
) -> None:
    _, app = open_advisor(bedrock_emulator, postgres_dsn, tmp_path)
    starlette = app.app  # type: ignore[attr-defined]

    async def main() -> list[httpx.Response]:
        executor = SaverOnly()
        asyncio.get_running_loop().set_default_executor(executor)
        async with starlette.router.lifespan_context(starlette):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:

                def ask(prompt: str, session: str) -> Any:
                    body = {"prompt": prompt, "session_id": session}
                    return client.post("/invocations", json=body, timeout=120)

                first = await asyncio.gather(*(ask(FIRST, f"s-{n}") for n in range(TURNS)))
                second = await asyncio.gather(*(ask(SECOND, f"s-{n}") for n in range(TURNS)))
        modules = {name.split(":")[0] for name in executor.used}
        assert all(m.startswith("langgraph.checkpoint.postgres") for m in modules), modules
        return [*first, *second]

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * (2 * TURNS), responses[0].text
    answers = [r.json() for r in responses]
    assert {a["degraded"] for a in answers} == {False}
    assert {a["region"] for a in answers} == {PRIMARY}
    follow_ups = answers[TURNS:]
    assert [a["session"] for a in follow_ups] == [f"s-{n}" for n in range(TURNS)]
    assert {a["tool_calls"][0]["input"]["rto_minutes"] for a in follow_ups} == {20}
