"""Two `agentkit serve` processes on one Redis: what one worker learns, the other acts on (issue 15,
done-when: after one sees the primary Region black-holed, the other's next request goes to the
fallback without waiting for a timeout)."""

from __future__ import annotations

from pathlib import Path

import redis

from agentkit.emulator import Emulator
from tests.serve.test_http_process import serving

from .conftest import PRIMARY, SECONDARY, calls_to, fleet_config

QUESTION = "payments-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"


def test_after_one_server_sees_a_black_hole_the_other_falls_back_at_once(
    bedrock_emulator: Emulator, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentkit.yaml"  # JSON is YAML: the same file for both processes
    config.write_text(fleet_config(bedrock_emulator, redis_url, prefix).model_dump_json())
    with serving(config, tmp_path) as first, serving(config, tmp_path) as second:
        bedrock_emulator.set_faults({"seed": 1, "regions": {PRIMARY: {"blackhole": True}}})
        learned = first.ask(QUESTION, session_id="fleet-a").json()
        assert (learned["region"], learned["fell_back"]) == (SECONDARY, True)
        paid = calls_to(bedrock_emulator, PRIMARY)
        assert paid == 2  # extract and compose each waited for a read timeout: the breaker opens

        answer = second.ask(QUESTION, session_id="fleet-b").json()
        assert (answer["region"], answer["fell_back"], answer["degraded"]) == (
            SECONDARY,
            True,
            False,
        )
        assert calls_to(bedrock_emulator, PRIMARY) == paid  # the second server never tried it
        assert first.stop() == 0
        assert second.stop() == 0
    client = redis.Redis.from_url(redis_url)
    try:
        route = f"{fleet_config(bedrock_emulator, redis_url, prefix).models.routes[0].name}"
        state = client.hgetall(f"{prefix}breaker:{route}")
    finally:
        client.close()
    assert state[b"state"] == b"open"
