from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from agentkit.emulator import Emulator

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
USER = [{"role": "user", "content": [{"text": "What is our DR strategy for payments?"}]}]


def raw_post(
    endpoint: str, path: str, body: bytes | dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    """POST without boto3, to see exactly what the emulator sends."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        conn.request("POST", path, payload, {"content-type": "application/json"})
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


def model_path(model: str, operation: str) -> str:
    return f"/model/{quote(model, safe='')}/{operation}"


@pytest.fixture
def emu(bedrock_emulator: Emulator) -> Emulator:
    return bedrock_emulator
