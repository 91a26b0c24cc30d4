"""boto3 clients pointed at the emulator."""

from __future__ import annotations

from typing import Any

from agentkit.bedrock.clients import EMULATOR_CREDENTIALS


def emulator_client(endpoint: str, region: str, **config: Any) -> Any:
    """A ``bedrock-runtime`` client for ``endpoint`` with dummy credentials and botocore retries
    off, unless ``config`` (passed to ``botocore.config.Config``) says otherwise."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"total_max_attempts": 1},
        "connect_timeout": 2,
        "read_timeout": 10,
    }
    options.update(config)
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(**options),
        **EMULATOR_CREDENTIALS,
    )
