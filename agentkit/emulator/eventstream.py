"""AWS event-stream framing (``application/vnd.amazon.eventstream``), encoder side.

Frame: total length (4), headers length (4), CRC32 of those 8 bytes, headers, payload, CRC32 of
everything before it. Headers here are all strings (type 7). botocore ships the decoder.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any

_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = _headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    head = prelude + struct.pack("!I", binascii.crc32(prelude)) + raw_headers + payload
    return head + struct.pack("!I", binascii.crc32(head))


def event_frame(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, json.dumps(body, separators=(",", ":")).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    """An in-stream modelled exception; the type is lowerCamel (``throttlingException``)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, json.dumps({"message": message}).encode())


def error_frame(error_code: str, message: str) -> bytes:
    """An in-stream unmodelled error (``:message-type: error``)."""
    headers = {":error-code": error_code, ":error-message": message, ":message-type": "error"}
    return encode_frame(headers, b"")
