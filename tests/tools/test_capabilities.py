"""fmea_generate and capacity_plan: versioned contracts with the applications' handlers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.agents.tools import builtin_registry
from agentkit.errors import ToolInputInvalid
from agentkit.tools.registry import ToolRegistry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARCHITECTURE = EXAMPLES / "three-tier-single-az.yaml"
CAPACITY = yaml.safe_load((EXAMPLES / "capacity.yaml").read_text())["capacity"]


@pytest.fixture
def registry() -> Iterator[ToolRegistry]:
    reg = builtin_registry()
    yield reg
    reg.close()


def test_both_contracts_are_published_with_their_side_effects(registry: ToolRegistry) -> None:
    fmea, capacity = registry.contract("fmea_generate"), registry.contract("capacity_plan")
    assert (fmea.version, fmea.side_effect) == ("1.0.0", "idempotent")
    assert (capacity.version, capacity.side_effect) == ("1.0.0", "read_only")


def test_fmea_generate_scores_gates_and_writes_the_reports(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    result = registry.call(
        "fmea_generate",
        {"architecture_path": str(ARCHITECTURE), "out_dir": str(out), "formats": ["md", "json"]},
    ).output
    assert result["workload"]["name"] == "three-tier-web"
    assert result["gate"]["result"] == "failed"  # single-AZ tiers are H before any control
    assert result["gate"]["failing"]
    assert result["summary"]["single_points_of_failure"] == ["web", "app", "db"]
    assert len(result["rows"]) == result["summary"]["rows"]
    assert result["reports"] == [(out / "fmea.json").as_posix(), (out / "fmea.md").as_posix()]
    written = json.loads((out / "fmea.json").read_text())
    assert [row["id"] for row in written["rows"]] == [row["id"] for row in result["rows"]]
    assert written["gate"]["result"] == "failed"


def test_fmea_generate_takes_the_architecture_inline(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    inline = yaml.safe_load(ARCHITECTURE.read_text())
    by_path = registry.call(
        "fmea_generate", {"architecture_path": str(ARCHITECTURE), "out_dir": str(tmp_path / "a")}
    )
    by_value = registry.call(
        "fmea_generate", {"architecture": inline, "out_dir": str(tmp_path / "b")}
    )
    assert by_value.output["rows"] == by_path.output["rows"]
    assert by_value.output["gate"] == by_path.output["gate"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"out_dir": "x"}, "give architecture_path or architecture (exactly one of them)"),
        ({"architecture_path": "missing.yaml", "out_dir": "x"}, "no such file: missing.yaml"),
        (
            {
                "architecture": {
                    "apiVersion": "agentkit/architecture/v1",
                    "workload": {"name": "w"},
                    "components": [{"id": "db", "kind": "no-such-kind"}],
                },
                "out_dir": "x",
            },
            "architecture:",
        ),
    ],
)
def test_fmea_generate_input_mistakes_are_one_line_and_trip_nothing(
    registry: ToolRegistry, tmp_path: Path, payload: dict[str, Any], message: str
) -> None:
    payload = {**payload, "out_dir": str(tmp_path / payload["out_dir"])}
    with pytest.raises(ToolInputInvalid, match=re.escape(message)) as caught:
        registry.call("fmea_generate", payload)
    assert "agentkit-fmea-" not in str(caught.value)  # no scratch path in the message
    assert not (tmp_path / "x").exists()
    status = {s.name: s for s in registry.status()}
    assert status["fmea_generate"].breaker == "closed"


def test_capacity_plan_gives_rpm_tpm_tpd_and_headroom_per_region(registry: ToolRegistry) -> None:
    plan = registry.call("capacity_plan", {"capacity": CAPACITY}).output
    regions = {r["region"]: r for r in plan["regions"]}
    east = regions["us-east-1"]
    # domain.md 3.3: C = 20 threads at d = 20 s is 60 RPM; settled 504,000 TPM at burndown 5
    assert (east["rpm"], east["tpm_settled"], east["tpm_admission"]) == (60, 504_000, 504_000)
    assert east["headroom_settled"] == pytest.approx(1 - 504_000 / 400_000)
    assert east["tpd_needed"] == 504_000 * 1440
    assert (east["ok"], east["tpd_ok"]) == (False, False)
    assert regions["us-west-2"]["rpm"] == 0
    assert plan["n_plus_one"]["lost_region"] == "us-east-1"
    assert plan["ok"] is False


def test_capacity_plan_reads_an_agentkit_yaml(registry: ToolRegistry) -> None:
    by_file = registry.call("capacity_plan", {"config_path": str(EXAMPLES / "capacity.yaml")})
    by_value = registry.call("capacity_plan", {"capacity": CAPACITY})
    assert by_file.output == by_value.output


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "give config_path or capacity"),
        ({"capacity": {**CAPACITY, "recursion_limit": 0}}, "capacity.recursion_limit"),
        ({"config_path": "nope.yaml"}, "nope.yaml: file not found"),
    ],
)
def test_capacity_plan_input_mistakes(
    registry: ToolRegistry, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolInputInvalid, match=re.escape(message)):
        registry.call("capacity_plan", payload)


def test_both_are_callable_from_the_command_line(tmp_path: Path) -> None:
    capacity = tmp_path / "capacity.json"
    capacity.write_text(json.dumps({"capacity": CAPACITY}))
    fmea = tmp_path / "fmea.json"
    fmea.write_text(
        json.dumps({"architecture_path": str(ARCHITECTURE), "out_dir": str(tmp_path / "out")})
    )
    for name, request in (("capacity_plan", capacity), ("fmea_generate", fmea)):
        done = subprocess.run(
            [sys.executable, "-m", "agentkit", "tools", "call", name, "--input", str(request)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)
    assert (tmp_path / "out" / "fmea.md").is_file()
