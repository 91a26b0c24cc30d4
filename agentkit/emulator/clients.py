"""boto3 clients pointed at the emulator."""

from __future__ import annotations

from typing import Any

from agentkit.bedrock.clients import EMULATOR_CREDENTIALS, runtime_client
from agentkit.bedrock.knowledge import agent_runtime_client


def emulator_client(endpoint: str, region: str, **config: Any) -> Any:
    """A ``bedrock-runtime`` client for ``endpoint`` with dummy credentials and botocore retries
    off, unless ``config`` (passed to ``botocore.config.Config``) says otherwise."""
    options: dict[str, Any] = {"connect_timeout": 2, "read_timeout": 10, **config}
    return runtime_client(region, endpoint, credentials=EMULATOR_CREDENTIALS, **options)


def emulator_agent_client(endpoint: str, region: str, **config: Any) -> Any:
    """A ``bedrock-agent-runtime`` client (Knowledge Base ``Retrieve``) for ``endpoint``, like
    :func:`emulator_client`."""
    options: dict[str, Any] = {"connect_timeout": 2, "read_timeout": 10, **config}
    return agent_runtime_client(region, endpoint, credentials=EMULATOR_CREDENTIALS, **options)
