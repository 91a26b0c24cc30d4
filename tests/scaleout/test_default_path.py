"""With no Redis and no PostgreSQL configured, nothing changes: not even an import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentkit.config import AgentkitConfig, SessionsConfig, StateConfig


def test_defaults_are_memory_and_sqlite() -> None:
    config = AgentkitConfig()
    assert config.resilience.state == StateConfig(backend="memory")
    assert config.sessions == SessionsConfig(backend="sqlite")


def test_the_default_path_imports_no_backend(tmp_path: Path) -> None:
    """``--help`` imports neither client library. A default gateway imports no agentkit backend
    module and no psycopg; the redis package itself is imported by pybreaker, which loads it
    whenever it is installed (for its own Redis storage), not by agentkit."""
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from agentkit.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert not {'redis', 'psycopg'} & set(sys.modules), 'help imported a backend'\n"
        "from agentkit.agents.sessions import open_sessions\n"
        "from agentkit.bedrock.gateway import Gateway\n"
        "from agentkit.config import AgentkitConfig\n"
        "config = AgentkitConfig.model_validate({'models': {'endpoints': {\n"
        "    r: 'http://127.0.0.1:9' for r in ('us-east-1', 'us-west-2', 'us-east-2')}}})\n"
        "Gateway.from_config(config).close()\n"
        f"open_sessions(config.sessions, Path({str(tmp_path)!r}) / 's.sqlite').close()\n"
        "names = ('psycopg', 'psycopg_pool', 'langgraph.checkpoint.postgres',\n"
        "         'agentkit.resilience.redis_state')\n"
        "print('HEAVY', sorted(m for m in names if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "s.sqlite").exists()


def test_a_postgres_backend_needs_a_dsn() -> None:
    with pytest.raises(ValidationError, match=r"sessions\.dsn is required"):
        SessionsConfig(backend="postgres")
