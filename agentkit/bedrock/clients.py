"""boto3 ``bedrock-runtime`` clients: one per Region, cached and shared across threads.

botocore's own retries are off (``total_max_attempts: 1``): the gateway is the one layer that
retries. Connect and read timeouts are explicit, TCP keep-alive is on, and the user agent says
agentkit. A Region may have an endpoint override (the local emulator, a VPC endpoint).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from collections.abc import Iterable, Mapping
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


_SHARED_LOCK = threading.RLock()


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    """One botocore data loader per process: it caches the parsed service models, so a second
    session does not parse them again (~100 ms each)."""
    from botocore.loaders import create_loader

    return create_loader()


@functools.lru_cache(maxsize=1)
def shared_session() -> Any:
    """The process's session for building clients (as boto3's default session is): a gateway
    built later, or a client for another Region, costs milliseconds, not a session's set-up.
    Build clients from it only while holding ``_SHARED_LOCK``: sessions are not thread-safe."""
    return session_without_imds()


def session_without_imds() -> Any:
    """A boto3 session whose credential chain asks the EC2 instance metadata service only on
    EC2: elsewhere that lookup is a pointless network call to 169.254.169.254. Credentials are
    resolved per session; parsed service models are shared."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
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
        self._closed = False

    def endpoint(self, region: str) -> str | None:
        return self._endpoints.get(region)

    def bounded(self, timeout_s: float) -> ClientFactory:
        """A factory for the same Regions, endpoints and session whose clients give up within
        ``timeout_s`` (connect and read each): for a short call that must not outlive its
        bound. Its clients are its own; close it too."""
        timeouts = self._timeouts.model_copy(
            update={"connect_s": min(self._timeouts.connect_s, timeout_s), "read_s": timeout_s}
        )
        return ClientFactory(timeouts, self._endpoints, self._session)

    def client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = self._clients[region] = self._create(region)
        return client

    def warm(self, regions: Iterable[str]) -> None:
        """Build the clients for ``regions`` now, in order, so that the first failover to a
        Region pays no client construction (about 10-20 ms each, more for the first)."""
        for region in dict.fromkeys(regions):
            with self._lock:
                if self._closed:
                    return
                if region not in self._clients:
                    self._clients[region] = self._create(region)

    def built(self) -> tuple[str, ...]:
        """The Regions whose clients exist now."""
        with self._lock:
            return tuple(self._clients)

    def warm_in_background(self, regions: Iterable[str]) -> threading.Thread:
        thread = threading.Thread(
            target=self.warm, args=(list(regions),), name="agentkit-warm-clients", daemon=True
        )
        thread.start()
        return thread

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _create(self, region: str) -> Any:
        endpoint = self._endpoints.get(region)
        return runtime_client(
            region,
            endpoint,
            session=self._session,
            credentials=credentials_for(endpoint, self._session),
            connect_timeout=self._timeouts.connect_s,
            read_timeout=self._timeouts.read_s,
        )


def runtime_client(region: str, endpoint: str | None = None, **options: Any) -> Any:
    """A ``bedrock-runtime`` client from :func:`service_client`."""
    return service_client("bedrock-runtime", region, endpoint, **options)


def service_client(
    service: str,
    region: str,
    endpoint: str | None = None,
    *,
    session: Any = None,
    credentials: Mapping[str, str] | None = None,
    **config: Any,
) -> Any:
    """The one builder of agentkit's Bedrock clients (``bedrock-runtime``,
    ``bedrock-agent-runtime``): botocore retries off, TCP keep-alive, an agentkit user agent and
    a pool for concurrent calls; ``config`` (``botocore.config.Config`` options such as
    timeouts) adds to or overrides that."""
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "tcp_keepalive": True,
        "user_agent_extra": f"agentkit/{__version__}",
        "max_pool_connections": 32,
        **config,
    }
    with _SHARED_LOCK:
        return (session or shared_session()).client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            config=Config(**options),
            **dict(credentials or {}),
        )


def credentials_for(endpoint: str | None, session: Any = None) -> Mapping[str, str] | None:
    """The emulator's dummy credentials for a loopback endpoint when the chain has none (a
    developer's machine without AWS credentials); else None: the chain's own."""
    if not endpoint or not is_loopback(endpoint):
        return None
    with _SHARED_LOCK:
        found = credentials_found(session or shared_session())
    return None if found else EMULATOR_CREDENTIALS
