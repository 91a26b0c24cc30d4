"""Fixtures for the capacity tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def write_config(tmp_path: Path) -> Any:
    """Write ``{"capacity": section}`` (or any document) to agentkit.yaml; return the path."""

    def write(document: dict[str, Any]) -> Path:
        path = tmp_path / "agentkit.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    return write
