"""Where the packaged data folders (tools/, prompts/, runbooks/) live.

An installed wheel carries them under ``agentkit/_data``; a source checkout (editable install)
has them at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of data folder ``name`` (``tools``, ``prompts`` or ``runbooks``)."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def agentkit_home() -> str:
    """Where agentkit keeps its state (sessions, canary results): ``$AGENTKIT_HOME`` or
    ``~/.agentkit``."""
    import os

    return os.environ.get("AGENTKIT_HOME") or os.path.join(os.path.expanduser("~"), ".agentkit")
