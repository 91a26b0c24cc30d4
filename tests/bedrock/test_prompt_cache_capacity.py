"""``agentkit capacity --cache-hit-ratio``: the measured hit ratio instead of the configured one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.capacity.formulas import measured_hit_rate
from agentkit.cli.app import main
from tests.capacity.inputs import worked_example


def write(tmp_path: Path, **capacity: Any) -> Path:
    path = tmp_path / "agentkit.yaml"
    document = {"capacity": worked_example(**capacity)}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def settled(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> float:
    code, out, err = run(capsys, "-c", str(path), "--json", *extra)
    assert code == 0, err
    value: float = json.loads(out)["model"]["tpm_settled"]
    return value


def test_the_measured_ratio_replaces_the_configured_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configured = settled(capsys, write(tmp_path, cached_prefix_tokens=2000, cache_hit_rate=0.9))
    measured = settled(
        capsys, write(tmp_path, cached_prefix_tokens=2000), "--cache-hit-ratio", "0.9"
    )
    no_hits = settled(capsys, write(tmp_path, cached_prefix_tokens=2000))
    assert measured == configured < no_hits


def test_a_ratio_without_a_cached_prefix_or_out_of_range_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "-c", str(write(tmp_path)), "--cache-hit-ratio", "0.5")
    assert code == 2
    assert out == ""
    assert "capacity.cached_prefix_tokens" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "-c", str(write(tmp_path)), "--cache-hit-ratio", "1.5")
    assert code == 2
    assert "--cache-hit-ratio" in err


def test_the_hit_ratio_from_measured_cache_tokens() -> None:
    assert measured_hit_rate(9000, 1000) == 0.9  # nine reads of a 1,000-token prefix, one write
    assert measured_hit_rate(0, 0) is None
