"""Is there a model tier? The gateway when a call could succeed, else the reason there is none.

Applications (the DR advisor, FMEA enrichment) ask here; without credentials nothing heavy is
imported, so an offline command stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from agentkit.errors import CREDENTIALS_HINT

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from agentkit.bedrock.types import ModelInterface
    from agentkit.config import AgentkitConfig

OFFLINE = (
    "model tier unavailable: "
    + CREDENTIALS_HINT
    + "; answering with agentkit's deterministic engine"
)
# Where the AWS credential chain looks, short of the instance metadata service.
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def credentials_possible() -> bool:
    """False only when no source of AWS credentials can exist here (no variable, no shared
    file, not EC2): then boto3 need not be imported to find out."""
    if any(os.environ.get(name) for name in _CREDENTIAL_VARIABLES):
        return True
    home = Path(os.environ.get("HOME", "~")).expanduser() / ".aws"
    files = (
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(home / "credentials"),
        os.environ.get("AWS_CONFIG_FILE") or str(home / "config"),
    )
    if any(Path(f).is_file() for f in files):
        return True
    from agentkit.bedrock.clients import on_ec2

    return on_ec2()


def model_tier(
    config: AgentkitConfig, tracer_provider: TracerProvider | None = None
) -> tuple[ModelInterface | None, str | None]:
    """The gateway, or ``(None, reason)`` when no call could succeed (no credentials at all)."""
    from agentkit.bedrock.clients import credentials_found, is_loopback

    endpoints = config.models.endpoints
    local = all(is_loopback(endpoints.get(r.region, "")) for r in config.models.routes)
    if not local and not (credentials_possible() and credentials_found()):
        return None, OFFLINE
    from agentkit.bedrock.gateway import Gateway

    return Gateway.from_config(config, tracer_provider=tracer_provider), None
