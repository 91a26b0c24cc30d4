"""Cold-path canaries against the emulator (issue 20): each route on its own, one attempt, the
last success per route kept, a success/failure count per route, a dead route named with why."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.bedrock.canary import (
    Canary,
    cost_bound,
    parse_interval,
    read_state,
)
from agentkit.config import AgentkitConfig
from agentkit.emulator import Emulator
from agentkit.errors import InputError

from .conftest import NOVA, PRIMARY, SECONDARY, SONNET, calls_to

REGIONS = [PRIMARY, SECONDARY]


def two_routes(emu: Emulator) -> AgentkitConfig:
    return AgentkitConfig.model_validate(
        {
            "models": {
                "residency": "us",
                "routes": [
                    {"model": SONNET, "region": PRIMARY},
                    {"model": NOVA, "region": SECONDARY},
                ],
                "endpoints": emu.endpoints,
            },
            "resilience": {"timeouts": {"connect_s": 1.0, "read_s": 2.0}},
        }
    )


class Ticks:
    """A wall clock that moves a minute per reading."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


def counts(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != "agentkit.canary.checks":
                    continue
                for point in metric.data.data_points:
                    key = (
                        str(point.attributes["agentkit.route"]),
                        str(point.attributes["outcome"]),
                    )
                    found[key] = int(point.value)
    return found


@pytest.mark.emulator(regions=REGIONS)
def test_both_healthy_one_attempt_each_and_the_state_records_success(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    config = two_routes(bedrock_emulator)
    reader = InMemoryMetricReader()
    state = tmp_path / "canary.json"
    canary = Canary(config, state_path=state, now=Ticks(), meter_provider=MeterProvider([reader]))
    run = canary.run_once()
    assert [r.ok for r in run.results] == [True, True]
    assert run.dead == []
    assert calls_to(bedrock_emulator, PRIMARY) == calls_to(bedrock_emulator, SECONDARY) == 1
    assert {c.operation for c in bedrock_emulator.calls()} == {"Converse"}
    assert all(r.output_tokens <= 1 for r in run.results)
    recorded = read_state(state)
    assert recorded[run.results[0].route].last_success == run.results[0].at
    assert counts(reader) == {(r.route, "success"): 1 for r in run.results}
    report = run.to_json()
    assert report["ok"] is True
    assert report["cost_bound"]["tokens"] == run.cost.tokens == 2 * (run.cost.input_tokens + 1)


@pytest.mark.emulator(regions=REGIONS)
def test_a_locked_out_fallback_is_dead_on_its_own_and_keeps_its_last_success(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    config = two_routes(bedrock_emulator)
    reader = InMemoryMetricReader()
    state = tmp_path / "canary.json"
    canary = Canary(config, state_path=state, now=Ticks(), meter_provider=MeterProvider([reader]))
    healthy = canary.run_once()
    bedrock_emulator.set_faults({"regions": {SECONDARY: {"errors": [{"code": "legacy_model"}]}}})
    bedrock_emulator.clear_calls()
    run = canary.run_once()
    primary, fallback = run.results
    assert primary.ok
    assert not fallback.ok
    assert fallback.error_type == "ModelLifecycleLocked"
    assert fallback.error_code == "ResourceNotFoundException"
    assert "route to its successor" in (fallback.message or "")
    assert fallback.describe().startswith(f"{NOVA}@{SECONDARY}: ModelLifecycleLocked: ")
    assert calls_to(bedrock_emulator, SECONDARY) == 1  # one attempt, no retry
    assert calls_to(bedrock_emulator, PRIMARY) == 1  # no fallback to (or from) another route
    assert fallback.last_success == healthy.results[1].at  # inactivity is visible
    assert [r.route for r in run.dead] == [fallback.route]
    assert counts(reader)[(fallback.route, "failure")] == 1
    assert read_state(state)[fallback.route].last_error == fallback.describe()


@pytest.mark.emulator(regions=REGIONS)
def test_every_loops_with_jitter_through_an_injected_sleep(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    canary = Canary(two_routes(bedrock_emulator), state_path=tmp_path / "s.json", now=Ticks())
    slept: list[float] = []
    runs = list(canary.run_every(900, runs=2, sleep=slept.append, rng=random.Random(3)))
    assert len(runs) == 2
    assert len(slept) == 1  # between the runs, not after the last
    assert 810 <= slept[0] <= 990
    assert slept[0] != 900
    assert calls_to(bedrock_emulator, PRIMARY) == 2


def test_cost_bound_is_routes_times_input_plus_one() -> None:
    config = AgentkitConfig()
    bound = cost_bound(config.models.routes)
    assert bound.routes == 3
    assert bound.input_tokens > 0
    assert bound.tokens == 3 * (bound.input_tokens + 1)
    assert "3 route(s)" in bound.describe()


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("90s", 90), ("1h30m", 5400), ("5", 5)]
)
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "0m", "soon", "m5", "-1m"])
def test_a_bad_interval_names_the_fix(text: str) -> None:
    with pytest.raises(InputError, match=r"use e\.g\. 15m"):
        parse_interval(text)


def test_a_corrupt_state_file_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "canary.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="delete it"):
        read_state(path)
    path.write_text(json.dumps({"routes": []}))
    with pytest.raises(InputError, match="not a canary state file"):
        read_state(path)
