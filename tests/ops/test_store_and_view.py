"""The file backend, its audit line, and a worker's view re-reading it within ``poll_s``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agentkit.ops import OverrideView, current
from agentkit.ops.store import FileStore, OpsUnavailable, change

from .conftest import Document, Ticks


def test_set_and_clear_keep_one_document_and_append_one_audit_line_each(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "ops.json", tmp_path / "ops-audit.jsonl")
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    store.update(change({"kill_switch": "on", "max_tokens": "512"}, by="alice", now=at))
    store.update(change({"pin": "us-west-2"}, by="bob", now=at))
    after = store.update(change({}, ["max_tokens"], by="carol", now=at))
    assert after.fields() == {"kill_switch": "on", "pin": "us-west-2"}
    assert (after.set_by, after.set_at) == ("carol", "2026-12-07T03:00:00Z")
    assert store.read() == after
    lines = [json.loads(line) for line in store.audit.read_text().splitlines()]
    assert [(line["by"], line["action"]) for line in lines] == [
        ("alice", "set"),
        ("bob", "set"),
        ("carol", "clear"),
    ]
    assert lines[0]["set"] == {"kill_switch": "on", "max_tokens": "512"}
    assert (lines[2]["cleared"], lines[2]["at"]) == (["max_tokens"], "2026-12-07T03:00:00Z")
    assert lines[0]["where"] == str(tmp_path / "ops.json")
    store.update(change({"kill_switch": "off"}, by="dave"))
    assert store.read().fields() == {"pin": "us-west-2"}


def test_without_by_the_audit_names_the_os_user(tmp_path: Path) -> None:
    import getpass

    store = FileStore(tmp_path / "ops.json", tmp_path / "audit.jsonl")
    store.update(change({"kill_switch": "on"}))
    assert json.loads(store.audit.read_text())["by"] == getpass.getuser()


def test_a_broken_document_is_said_and_clear_all_rewrites_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "ops.json", tmp_path / "audit.jsonl")
    store.path.write_text("{not json")
    with pytest.raises(OpsUnavailable, match="not an ops document"):
        store.read()
    with pytest.raises(OpsUnavailable):
        store.update(change({}, ["pin"], by="x"))
    assert not store.update(change({}, None, by="x")).active
    assert store.read().fields() == {}


def test_a_worker_applies_a_change_at_the_first_question_after_poll_s(
    document: Document,
) -> None:
    assert not current().active  # no document yet: nothing overridden
    document.set(kill_switch="on")
    document.clock.now += document.view.poll_s - 0.01
    assert not current().kill_switch  # within the interval: the last reading
    document.clock.now += 0.01
    assert current().kill_switch  # the interval is over: re-read
    document.clear()
    document.poll()
    assert not current().active


def test_an_unreadable_document_keeps_the_last_reading(document: Document) -> None:
    document.set(max_tokens="128")
    assert current().max_tokens == 128
    document.store.path.write_text("garbage")
    document.poll()
    assert current().max_tokens == 128
    document.clear()
    document.poll()
    assert current().max_tokens is None


def test_the_active_overrides_are_a_metric(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    store = FileStore(tmp_path / "ops.json", tmp_path / "audit.jsonl")
    ticks = Ticks()
    view = OverrideView(store, poll_s=2, monotonic=ticks, meter_provider=MeterProvider([reader]))
    store.update(change({"kill_switch": "on", "max_tokens": "64"}, by="t"))
    assert view.current().kill_switch
    points = _points(reader, "agentkit.ops.override.active")
    assert sorted((p.attributes["key"], p.value) for p in points) == [
        ("kill_switch", 1),
        ("max_tokens", 1),
    ]
    changes = _points(reader, "agentkit.ops.changes")
    assert sum(p.value for p in changes) == 2


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_the_redis_document_is_one_hash_and_its_password_is_never_shown(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    from agentkit.config import AgentkitConfig
    from agentkit.ops.store import RedisStore, open_store

    config = AgentkitConfig.model_validate(
        {
            "resilience": {"state": {"url": redis_url, "prefix": prefix}},
            "ops": {"backend": "redis", "audit": str(tmp_path / "audit.jsonl")},
        }
    )
    store = open_store(config)  # url and prefix from resilience.state
    assert isinstance(store, RedisStore)
    try:
        store.update(change({"pin": "us-west-2", "max_tokens": "64"}, by="ann"))
        after = store.update(change({}, ["pin"], by="ann"))
        assert after.fields() == {"max_tokens": "64"}
        assert after.set_by == "ann"
        assert store.client.hget(f"{prefix}ops", "max_tokens") == b"64"
        assert store.client.llen(f"{prefix}ops:audit") == 2
    finally:
        store.close()
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 2
    secret = RedisStore(None, "p:", tmp_path / "a", "redis://user:s3cr3t@host:6380/0")
    assert secret.where == "redis://user:***@host:6380/0 p:ops"


def test_a_worker_keeps_its_last_reading_while_redis_is_down(tmp_path: Path) -> None:
    import redis

    from agentkit.ops.store import RedisStore

    client = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.05, socket_connect_timeout=0.05)
    store = RedisStore(client, "p:", tmp_path / "a", "redis://127.0.0.1:1/0")
    with pytest.raises(OpsUnavailable, match="cannot read the ops document"):
        store.read()
    with pytest.raises(OpsUnavailable, match="the change was not made"):
        store.update(change({"kill_switch": "on"}, by="x"))
    assert not (tmp_path / "a").exists()  # no audit line for a change that was not made
    ticks = Ticks()
    view = OverrideView(store, poll_s=2, monotonic=ticks)
    assert not view.current().active
    store.close()
