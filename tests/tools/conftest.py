from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REQUEST = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "rto_minutes": {"type": "number", "exclusiveMinimum": 0},
        "region": {"type": "string", "minLength": 1},
    },
    "required": ["rto_minutes", "region"],
    "additionalProperties": False,
}
RESPONSE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"strategy": {"enum": ["pilot_light", "warm_standby"]}},
    "required": ["strategy"],
}


def write_tool(
    root: Path,
    name: str,
    version: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    **manifest: Any,
) -> Path:
    folder = root / name / f"v{version.split('.', maxsplit=1)[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "name": name,
                "version": version,
                "description": f"{name} tool",
                "side_effect": "read_only",
                **manifest,
            }
        )
    )
    (folder / "request.schema.json").write_text(json.dumps(request or REQUEST))
    (folder / "response.schema.json").write_text(json.dumps(response or RESPONSE))
    return folder


HUNG_ANSWER = {"strategy": "pilot_light"}


class Hung:
    """A handler that blocks until the test releases it (it ignores cancellation, as a handler
    stuck in a blocking call would), counting the calls that entered it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0
        self._entering = threading.Condition()

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self._entering:
            self.entered += 1
            self._entering.notify_all()
        self.release.wait(60)  # bounded: a test that forgets to release still ends
        return HUNG_ANSWER

    def wait_entered(self, calls: int, timeout_s: float = 10) -> bool:
        """True once ``calls`` calls are inside the handler (waits on them, never polls)."""
        with self._entering:
            return self._entering.wait_for(lambda: self.entered >= calls, timeout_s)


@pytest.fixture
def hung() -> Iterator[Hung]:
    handler = Hung()
    yield handler
    handler.release.set()
