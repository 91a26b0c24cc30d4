"""boto3 ``bedrock-runtime`` clients: one per Region, cached and shared across threads.

botocore's own retries are off (``total_max_attempts: 1``): the gateway is the one layer that
retries. Connect and read timeouts are explicit, TCP keep-alive is on, and the user agent says
agentkit. A Region may have an endpoint override (the local emulator, a VPC endpoint).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentkit._version import __version__
from agentkit.config import Timeouts

# Signing material for the local emulator, which does not check signatures.
EMULATOR_CREDENTIALS = {
    "aws_access_key_id": "AKIAEMULATOR00000000",
    "aws_secret_access_key": "emulator",
}


_EC2_MARKERS = (
    (Path("/sys/devices/virtual/dmi/id/board_asset_tag"), "i-"),
    (Path("/sys/hypervisor/uuid"), "ec2"),
)


def on_ec2() -> bool:
    """True on an EC2 instance, where the instance metadata service is a credential source."""
    for path, prefix in _EC2_MARKERS:
        try:
            if path.read_text().strip().lower().startswith(prefix):
                return True
        except OSError:
            continue
    return False


def session_without_imds() -> Any:
    """A boto3 session whose credential chain asks the EC2 instance metadata service only on
    EC2: elsewhere that lookup is a pointless network call to 169.254.169.254."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    if not on_ec2():
        core.get_component("credential_provider").remove("iam-role")
    return boto3.session.Session(botocore_session=core)


def credentials_found(session: Any = None) -> bool:
    return (session or session_without_imds()).get_credentials() is not None


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClientFactory:
    def __init__(
        self,
        timeouts: Timeouts,
        endpoints: Mapping[str, str] | None = None,
        session: Any = None,
    ) -> None:
        self._timeouts = timeouts
        self._endpoints = dict(endpoints or {})
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def endpoint(self, region: str) -> str | None:
        return self._endpoints.get(region)

    def client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = self._clients[region] = self._create(region)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _create(self, region: str) -> Any:
        from botocore.config import Config

        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=self._timeouts.connect_s,
            read_timeout=self._timeouts.read_s,
            tcp_keepalive=True,
            user_agent_extra=f"agentkit/{__version__}",
            max_pool_connections=32,
        )
        endpoint = self._endpoints.get(region)
        session = self._session or session_without_imds()
        extra: dict[str, Any] = {}
        if endpoint and is_loopback(endpoint) and not credentials_found(session):
            extra = dict(EMULATOR_CREDENTIALS)
        return session.client(
            "bedrock-runtime", region_name=region, endpoint_url=endpoint, config=config, **extra
        )
