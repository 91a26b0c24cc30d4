from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.bedrock import clients
from agentkit.bedrock.clients import (
    ClientFactory,
    credentials_found,
    is_loopback,
    session_without_imds,
)
from agentkit.config import Timeouts


def test_loopback_detection() -> None:
    assert is_loopback("http://127.0.0.1:4000")
    assert is_loopback("http://localhost:1")
    assert is_loopback("http://[::1]:80")
    assert not is_loopback("https://bedrock-runtime.us-east-1.amazonaws.com")


def test_instance_metadata_is_asked_only_on_ec2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    providers = session_without_imds()._session.get_component("credential_provider").providers
    assert "iam-role" not in [p.METHOD for p in providers]
    tag = tmp_path / "board_asset_tag"
    tag.write_text("i-0123456789abcdef0\n")
    monkeypatch.setattr(clients, "_EC2_MARKERS", ((tag, "i-"),))
    providers = session_without_imds()._session.get_component("credential_provider").providers
    assert "iam-role" in [p.METHOD for p in providers]


def test_loopback_endpoints_get_emulator_credentials_when_none_exist() -> None:
    assert not credentials_found()
    factory = ClientFactory(Timeouts(), {"us-east-1": "http://127.0.0.1:9"})
    client = factory.client("us-east-1")
    assert client._request_signer._credentials.access_key == "AKIAEMULATOR00000000"
    assert factory.client("us-east-1") is client  # cached per Region
    factory.close()


def test_explicit_credentials_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREALREAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    factory = ClientFactory(Timeouts(), {"us-east-1": "http://127.0.0.1:9"})
    assert (
        factory.client("us-east-1")._request_signer._credentials.access_key
        == "AKIAREALREALREALREAL"
    )
    factory.close()
