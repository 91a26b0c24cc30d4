"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="agentkit.yaml (default: ./agentkit.yaml)")
]
SessionsOption = Annotated[
    Path | None,
    typer.Option("--sessions", help="Session database (default: $AGENTKIT_HOME/sessions.sqlite)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
