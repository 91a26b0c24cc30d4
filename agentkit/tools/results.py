"""Where the results of ``mutating`` tool calls are kept, so that a repeat is never executed.

A repeat of a mutating call (the same idempotency key, or the same call id) returns the stored
result instead of running the tool again: a retry, a hedge, a fallback or a second caller cannot
make a side effect happen twice. The store is in memory by default, bounded and least recently
used first out; a run under LangGraph keeps its tool results in its checkpoint as well
(:meth:`agentkit.graph.RunContext.call_tool`), so a resumed run reuses them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol


class ResultStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, result: dict[str, Any]) -> None: ...


class MemoryResultStore:
    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def put(self, key: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
