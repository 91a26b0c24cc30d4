"""Issue 21, done-when: ``agentkit ops set kill_switch=on`` makes two running ``agentkit serve``
workers refuse new runs within 5 seconds, and ``ops clear`` restores them (the Redis backend,
``ops.poll_s`` at its default of 2 s)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import redis

from agentkit.emulator import Emulator
from tests.serve.test_http_process import ServeProcess, run_cli, serving

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
QUESTION = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
DONE_WHEN_S = 5.0  # the bound: the deadline of the polls below, not a sleep
# A decision on a session that waits on none: 409 at once while turns are taken (no model call,
# so a busy machine cannot stretch a probe), 503 under the kill switch (checked before any work).
PROBE = {"approval": {"approved": True, "by": "probe"}, "session_id": "ops-probe"}


def _until(worker: ServeProcess, status: int, deadline: float) -> httpx.Response:
    """Probe ``worker`` until it answers ``status``; fail once ``deadline`` (monotonic) passes."""
    while True:
        answer = httpx.post(f"{worker.url}/invocations", json=PROBE, timeout=10)
        if answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, f"still {answer.status_code}, expected {status}"
        time.sleep(0.05)


def test_the_kill_switch_reaches_two_workers_within_5_s_and_clear_restores_them(
    bedrock_emulator: Emulator, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentkit.yaml"  # JSON is YAML
    config.write_text(
        json.dumps(
            {
                "models": {
                    "residency": "us",
                    "routes": [{"model": SONNET, "region": "us-east-1"}],
                    "endpoints": bedrock_emulator.endpoints,
                },
                "ops": {"backend": "redis", "url": redis_url, "prefix": prefix},
            }
        )
    )
    with serving(config, tmp_path) as first, serving(config, tmp_path) as second:
        assert first.ask(QUESTION).status_code == 200
        assert second.ask(QUESTION).status_code == 200

        done = run_cli("ops", "set", "kill_switch=on", "-c", str(config), "--by", "fleet-test")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + DONE_WHEN_S
        for worker in (first, second):
            refused = _until(worker, 503, deadline).json()["error"]
            assert refused["code"] == "kill_switch"
            assert "set by fleet-test" in refused["message"]
            assert worker.ask(QUESTION).status_code == 503  # a new run is refused too

        assert run_cli("ops", "clear", "-c", str(config), "--by", "fleet-test").returncode == 0
        deadline = time.monotonic() + DONE_WHEN_S
        for worker in (first, second):
            assert _until(worker, 409, deadline).json()["error"]["code"] == "no_pending_approval"
            assert worker.ask(QUESTION).status_code == 200  # and a question is answered again
        assert first.stop() == 0
        assert second.stop() == 0

    client = redis.Redis.from_url(redis_url)
    try:
        audit = [json.loads(line) for line in client.lrange(f"{prefix}ops:audit", 0, -1)]
        document = client.hgetall(f"{prefix}ops")
    finally:
        client.close()
    assert [(a["by"], a["action"]) for a in audit] == [
        ("fleet-test", "set"),
        ("fleet-test", "clear"),
    ]
    assert document == {b"_by": b"fleet-test", b"_at": audit[1]["at"].encode()}
