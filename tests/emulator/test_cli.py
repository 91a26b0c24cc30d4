"""``agentkit emulate`` as a user runs it: a real process, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.config import Config

from .conftest import MODEL, USER

AGENTKIT = [sys.executable, "-m", "agentkit"]


def test_emulate_json_announces_endpoints_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        "regions:\n  us-east-1:\n    errors:\n      - {code: ThrottlingException, every: 2}\n"
    )
    process = subprocess.Popen(
        [
            *AGENTKIT,
            "emulate",
            "--regions",
            "us-east-1,us-west-2",
            "--faults",
            str(faults),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        announce = json.loads(process.stdout.readline())
        assert set(announce["endpoints"]) == {"us-east-1", "us-west-2"}
        assert announce["control"].startswith("http://127.0.0.1:")
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=announce["endpoints"]["us-east-1"],
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"total_max_attempts": 1}),
        )
        assert client.converse(modelId=MODEL, messages=USER)["stopReason"] == "end_turn"
        try:
            client.converse(modelId=MODEL, messages=USER)
            raise AssertionError("the second call should be throttled by the fault plan")
        except client.exceptions.ThrottlingException:
            pass
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENTKIT, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_bad_fault_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "faults.yaml"
    bad.write_text("regions:\n  us-east-1:\n    errors:\n      - {code: Kaboom}\n")
    result = run("emulate", "--faults", str(bad), "--regions", "us-east-1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{bad}:4: regions.us-east-1.errors[0].code" in lines[0]
    assert "Kaboom" in lines[0]


def test_missing_fault_file_and_unknown_region_are_one_line_errors(tmp_path: Path) -> None:
    missing = run("emulate", "--faults", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "file not found" in missing.stderr
    unknown = run("emulate", "--regions", "us-east-1,mars-north-1")
    assert unknown.returncode == 2
    assert "mars-north-1" in unknown.stderr
    assert "Traceback" not in unknown.stderr
