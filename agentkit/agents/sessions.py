"""Chat sessions persisted with LangGraph's SQLite checkpointer: a session survives a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver


class SessionStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")  # a killed writer never corrupts the file
        self.checkpointer = SqliteSaver(self._conn)
        self.checkpointer.setup()

    def sessions(self) -> list[str]:
        """Session ids, most recently used first."""
        rows = self._conn.execute(
            "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints GROUP BY thread_id "
            "ORDER BY MAX(checkpoint_id) DESC"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
