"""`agentkit serve` as a real process: the command line, one-line startup errors, and SIGTERM
finishing the turn in flight. :func:`serving` is shared with tests/scaleout/test_serve_fleet.py."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit.emulator import Emulator

SAFE = "orders-api on DynamoDB in us-east-1, RTO 15 min, RPO 1 min"
PRIMARY = "us-east-1"
_LISTENING = re.compile(r"listening on (http://\S+) ")
_POLL_S = 0.05


class ServeProcess:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def ping(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/ping", timeout=10).json())

    def ask(self, prompt: str, **body: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/invocations", json={"prompt": prompt, **body}, timeout=90)

    def stop(self) -> int:
        """SIGTERM, then the exit code once it has finished what it was doing."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)


def _wait_for(predicate: Any, what: str, attempts: int = 1200) -> Any:
    """Poll ``predicate`` until it returns something truthy (a bounded number of times)."""
    for _ in range(attempts):
        found = predicate()
        if found:
            return found
        time.sleep(_POLL_S)
    raise AssertionError(f"never happened: {what}")


@contextmanager
def serving(config: Path, tmp_path: Path, *args: str) -> Iterator[ServeProcess]:
    """``agentkit serve -c config --port 0 ARGS`` on loopback, ready to answer; stopped (SIGTERM,
    then SIGKILL if it hangs) when the block ends."""
    log = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*.log')))}.log"
    command = [sys.executable, "-m", "agentkit", "serve", "-c", str(config), "--port", "0", *args]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink, env=dict(os.environ))
    try:

        def announced() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"agentkit serve exited: {log.read_text()}")
            match = _LISTENING.search(log.read_text())
            return match.group(1) if match else None

        served = ServeProcess(process, _wait_for(announced, "the listening line"), log)

        def ready() -> bool:
            try:
                return served.ping()["status"] in ("Healthy", "HealthyBusy")
            except httpx.HTTPError:
                return False

        _wait_for(ready, "a /ping answer")
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def write_config(tmp_path: Path, emu: Emulator, extra: str = "") -> Path:
    endpoints = ", ".join(f'{r}: "{u}"' for r, u in emu.endpoints.items())
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        "models:\n  residency: us\n  routes:\n"
        f"    - {{model: us.anthropic.claude-sonnet-4-5-20250929-v1:0, region: {PRIMARY}}}\n"
        f"  endpoints: {{{endpoints}}}\n"
        "resilience: {timeouts: {connect_s: 1, read_s: 30}}\n" + extra
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_help_imports_neither_starlette_nor_uvicorn() -> None:
    probe = (
        "import sys\n"
        "from agentkit.cli.app import main\n"
        "for argv in (['--help'], ['serve', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), exc.code\n"
        "names = ('starlette', 'uvicorn', 'boto3', 'langgraph')\n"
        "print('HEAVY', sorted(m for m in names if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "--workers" in result.stdout
    assert "HEAVY []" in result.stdout


def test_a_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text("limits:\n  max_tokens: 0\n")
    result = run_cli("serve", "-c", str(path), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"agentkit: error: {path}:2: limits.max_tokens: "
        "Input should be greater than or equal to 1 (got 0)"
    ]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "agentkit.yaml").write_text("{}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "-c", str(tmp_path / "agentkit.yaml"), "--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"agentkit: error: --host 127.0.0.1 --port {port}: cannot listen")


@pytest.mark.emulator(regions=[PRIMARY])
def test_sigterm_during_a_turn_still_returns_its_answer(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    bedrock_emulator.set_faults({"regions": {PRIMARY: {"latency_ms": 1500}}})  # a slow model
    with serving(write_config(tmp_path, bedrock_emulator), tmp_path) as served:
        box: list[httpx.Response] = []
        asking = threading.Thread(target=lambda: box.append(served.ask(SAFE)))
        asking.start()
        _wait_for(lambda: served.ping()["status"] == "HealthyBusy", "the turn in flight")
        assert served.stop() == 0  # SIGTERM while the turn waits on the model
        asking.join(90)
    response = box[0]
    assert response.status_code == 200
    answer = response.json()
    assert (answer["degraded"], answer["region"]) == (False, PRIMARY)
    assert answer["strategy"] == "warm_standby"
    with pytest.raises(httpx.ConnectError):
        served.ping()  # and then it is gone


@pytest.mark.emulator(regions=[PRIMARY])
def test_two_workers_answer_json_and_events(bedrock_emulator: Emulator, tmp_path: Path) -> None:
    with serving(write_config(tmp_path, bedrock_emulator), tmp_path, "--workers", "2") as served:
        answers = [served.ask(SAFE, session_id=f"w-{i}") for i in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        assert {a.json()["session"] for a in answers} == {f"w-{i}" for i in range(4)}
        with httpx.stream(
            "POST",
            f"{served.url}/invocations",
            json={"prompt": SAFE},
            headers={"Accept": "text/event-stream"},
            timeout=90,
        ) as stream:
            lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
        final = json.loads(lines[-1].removeprefix("data: "))
        assert (final["type"], final["strategy"]) == ("answer", "warm_standby")
        assert "--workers 2 with resilience.state.backend memory" in served.log.read_text()
        assert served.stop() == 0
