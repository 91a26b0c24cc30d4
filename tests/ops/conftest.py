"""A file-backed control document and a view of it on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.ops import OverrideView, installed
from agentkit.ops.store import FileStore, change
from tests.scaleout.conftest import prefix, redis_url  # noqa: F401  (the Redis fixtures)


class Ticks:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Document:
    """The control document, as ``agentkit ops set`` changes it, and the view workers obey."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = FileStore(tmp_path / "ops.json", tmp_path / "ops-audit.jsonl")
        self.clock = Ticks()
        self.view = OverrideView(self.store, poll_s=2.0, monotonic=self.clock)

    def set(self, **fields: str) -> None:
        self.store.update(change(fields, by="test"))

    def clear(self) -> None:
        self.store.update(change({}, None, by="test"))

    def poll(self) -> None:
        """One poll interval passes: the next question re-reads the document."""
        self.clock.now += self.view.poll_s


@pytest.fixture
def document(tmp_path: Path) -> Iterator[Document]:
    doc = Document(tmp_path)
    with installed(doc.view):
        yield doc
