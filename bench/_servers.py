"""Servers the benchmarks start as child processes, so client and server do not share a GIL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONVERSE_BODY = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "echo"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
).encode()


class _Echo(BaseHTTPRequestHandler):
    """The baseline: the least a Python HTTP/1.1 server can do to answer a Converse call."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(CONVERSE_BODY)))
        self.end_headers()
        self.wfile.write(CONVERSE_BODY)

    def log_message(self, *args: Any) -> None:
        pass


def _serve_echo() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    server.serve_forever()


@contextmanager
def child(args: list[str]) -> Iterator[dict[str, Any]]:
    """Start a server process that announces itself as one JSON line; stop it afterwards."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def echo_server() -> Any:
    return child([sys.executable, "-m", "bench._servers"])


def emulator(regions: str = "us-east-1", faults: str | None = None) -> Any:
    args = [sys.executable, "-m", "agentkit", "emulate", "--regions", regions, "--json"]
    if faults:
        args += ["--faults", faults]
    return child(args)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with suppress(KeyboardInterrupt):
        _serve_echo()


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the emulator's control API (faults, call log)."""
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with suppress(KeyboardInterrupt):
        _serve_echo()
