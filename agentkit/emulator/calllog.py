"""The emulator's call log: one record per request, in arrival order."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

_ATTEMPT = re.compile(r"attempt=(\d+)")
_SIGNED_REGION = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/")


@dataclass
class CallRecord:
    seq: int
    region: str  # the Region whose endpoint was called
    served_region: str  # the Region that served it (differs under cross-Region inference)
    operation: str
    model: str
    attempt: int | None  # from the amz-sdk-request header
    signed_region: str | None  # from the SigV4 credential scope
    http_version: str = "1.1"
    status: int = 0
    error_code: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0  # input read from the prompt cache (not in input_tokens)
    cache_write_tokens: int = 0  # input written to it (not in input_tokens)
    service_tier: str | None = None  # serviceTier.type the request asked for
    latency: str | None = None  # performanceConfig.latency the request asked for
    max_tokens: int | None = None  # inferenceConfig.maxTokens the request carried
    knowledge_base: str | None = None  # the Knowledge Base id of a Retrieve call

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_attempt(header: str | None) -> int | None:
    match = _ATTEMPT.search(header or "")
    return int(match.group(1)) if match else None


def parse_signed_region(authorization: str | None) -> str | None:
    match = _SIGNED_REGION.search(authorization or "")
    return match.group(1) if match else None


class CallLog:
    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()
        self._seq = 0

    def open(self, **fields: Any) -> CallRecord:
        with self._lock:
            self._seq += 1
            record = CallRecord(seq=self._seq, **fields)
            self._records.append(record)
        return record

    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
