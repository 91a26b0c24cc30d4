"""``agentkit capacity``: table, JSON, and one line with exit 2 for each bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli.app import main
from tests.capacity.inputs import worked_example

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "capacity.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_the_shipped_example_reproduces_the_worked_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["seed"]["rpm"] == 80
    assert data["seed"]["tpm"] == 272_000
    assert data["seed"]["tpm_full_history"] == 560_000
    assert data["seed"]["tpm_settled"] == 672_000
    assert data["model"]["rpm"] == 60


def test_json_keys(capsys: pytest.CaptureFixture[str], write_config: Any) -> None:
    path = write_config({"capacity": worked_example(cached_prefix_tokens=2000, cache_hit_rate=0.9)})
    data = json.loads(run(capsys, "-c", str(path), "--json")[1])
    assert set(data) == {
        "seed", "model", "regions", "tpd_ok", "n_plus_one", "endpoint", "quota_regions",
        "routing_regions", "peak_factor", "safety_margin", "ok", "warnings", "cost",
    }  # fmt: skip
    assert {"rpm", "tpm", "tpm_full_history", "tpm_settled"} <= set(data["seed"])
    assert {
        "rpm", "tpm_raw", "tpm_settled", "tpm_admission", "input_tokens_per_call",
        "call_duration_s", "calls_per_thread", "burndown", "burndown_source",
    } <= set(data["model"])  # fmt: skip
    assert data["seed"]["tpm_settled"] == 528_000
    east = data["regions"]["us-east-1"]
    assert {"quota_tpm", "headroom_settled", "headroom_admission", "ok", "tpd_ok"} <= set(east)
    assert east["ok"] is False
    assert data["n_plus_one"]["lost_region"] == "us-east-1"
    assert data["quota_regions"] == {"count": 1, "regions": ["us-east-1"]}
    assert data["routing_regions"]["count"] == 1
    assert any("burndown 5x" in w for w in data["warnings"])


def test_table_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(EXAMPLE))
    assert code == 0
    for text in ("272,000", "672,000", "us-east-1", "us-west-2", "N+1", "burndown 5x"):
        assert text in out


def test_defaults_to_agentkit_yaml_in_the_current_directory(
    capsys: pytest.CaptureFixture[str], write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config({"capacity": worked_example()})
    monkeypatch.chdir(path.parent)
    assert json.loads(run(capsys, "--json")[1])["seed"]["rpm"] == 80


BAD_INPUTS = [
    ({"tokens_per_second": 0}, "capacity.tokens_per_second: Input should be greater than 0"),
    ({"tokens_per_second": -5}, "capacity.tokens_per_second: Input should be greater than 0"),
    (
        {"recursion_limit": 0},
        "capacity.recursion_limit: Input should be greater than or equal to 1",
    ),
    (
        {"traffic_share": {"us-east-1": 0.6, "us-west-2": 0.3}},
        "capacity.traffic_share: shares must sum to 1 (they sum to 0.9)",
    ),
    (
        {"traffic_share": {"us-east-1": 0.5, "eu-west-1": 0.5}},
        "capacity.traffic_share: no quota for eu-west-1: add it under capacity.quotas",
    ),
    (
        {"quotas": {"us-east-1": {"tpm": 400_000}, "us-west-22": {"tpm": 1}}},
        "capacity.quotas: unknown Region 'us-west-22'; did you mean us-west-2?",
    ),
    ({"quotas": {"us-east-1": {"tpm": 0}}}, "capacity.quotas.us-east-1.tpm: Input should be"),
    ({"threads_per_minute": 3}, "capacity: give either concurrent_threads, or threads_per_minute"),
    ({"concurrent_threads": None}, "capacity: give either concurrent_threads, or threads_per_min"),
    ({"burndown": None}, "capacity: set burndown, or a model_id to look it up"),
    ({"burndown": 0.5}, "capacity.burndown: Input should be greater than or equal to 1"),
    (
        {"burndown": None, "model_id": "cohere.command-r-v1:0"},
        "capacity.model_id: no burndown rate for 'cohere.command-r-v1:0' in burndown-v1",
    ),
    (
        {"max_completion_tokens": None, "model_id": "amazon.nova-pro-v1:0"},
        "capacity.model_id: the maximum output of 'amazon.nova-pro-v1:0' is not in burndown-v1",
    ),
    ({"max_completion_tokens": None}, "capacity: set max_completion_tokens, or a model_id"),
    ({"avg_completion_tokens": 1500}, "capacity.avg_completion_tokens: must not exceed"),
    ({"cached_prefix_tokens": 2001}, "capacity.cached_prefix_tokens: the cached prefix is part"),
    ({"cache_hit_rate": 1.5}, "capacity.cache_hit_rate: Input should be less than or equal to 1"),
    ({"context_mode": "all"}, "capacity.context_mode: Input should be 'last' or 'full'"),
    ({"safety_margin": 1}, "capacity.safety_margin: Input should be less than 1"),
    (
        {"model_id": "us.amazon.nova-pro-v1:0", "endpoint": "in-region"},
        "capacity.endpoint: in-region contradicts model_id 'us.amazon.nova-pro-v1:0' (geo-cris)",
    ),
    ({"tokens_per_sec": 50}, "capacity.tokens_per_sec: unknown key (check the spelling)"),
    ({"quotas": {}}, "capacity.quotas: give at least one Region's quota"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    write_config: Any,
    overrides: dict[str, Any],
    message: str,
) -> None:
    path = write_config({"capacity": worked_example(**overrides)})
    code, out, err = run(capsys, "-c", str(path))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"agentkit: error: {path}:")
    assert message in err


def test_the_error_names_the_line_of_the_key(
    capsys: pytest.CaptureFixture[str], write_config: Any
) -> None:
    path = write_config({"capacity": worked_example(tokens_per_second=0)})
    line = path.read_text().splitlines().index("  tokens_per_second: 0") + 1
    err = run(capsys, "-c", str(path))[2]
    assert err.startswith(f"agentkit: error: {path}:{line}: capacity.tokens_per_second:")


def test_missing_capacity_section(capsys: pytest.CaptureFixture[str], write_config: Any) -> None:
    path = write_config({"limits": {"max_tokens": 512}})
    code, _, err = run(capsys, "-c", str(path))
    assert code == 2
    assert err.strip() == (
        f"agentkit: error: {path}: no capacity: section; "
        "add a capacity: section (examples/capacity.yaml shows every key)"
    )


def test_no_config_file_in_the_current_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys)
    assert code == 2
    assert err.strip().startswith("agentkit: error: no agentkit.yaml in the current directory")
    assert len(err.strip().splitlines()) == 1


def test_config_file_not_found(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-c", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert err.strip() == f"agentkit: error: {tmp_path / 'missing.yaml'}: file not found"


def test_real_process_exit_code_and_no_traceback(write_config: Any) -> None:
    path = write_config({"capacity": worked_example(recursion_limit=0)})
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "capacity", "-c", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"agentkit: error: {path}:7: capacity.recursion_limit: "
        "Input should be greater than or equal to 1 (got 0)"
    ]
