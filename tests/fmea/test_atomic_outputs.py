"""Report sets are swapped in whole, escaped in every format, and readable by CI (0644)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from agentkit.errors import InputError
from agentkit.fmea.render import (
    EXTENSIONS,
    md,
    md_code,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_sarif,
    xml_text,
)
from agentkit.fmea.run import analyse
from agentkit.fsutil import atomic_write, refuse_installed, replace_file_set

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OLD = EXAMPLES / "three-tier-single-az.yaml"
NEW = EXAMPLES / "serverless-active-passive.yaml"
FORMATS = ("md", "json", "html", "sarif", "junit")
HOSTILE = "a|b\nc\r\n`x` <script>alert(1)</script> \x01\x0b\x1f\ufffe & *y* [z](u) \\"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def hostile_report() -> dict[str, Any]:
    report = analyse(OLD, formats=("json",)).report
    report["workload"]["name"] = HOSTILE
    for row in report["rows"]:
        for key in (
            "component",
            "failure_mode",
            "effect",
            "cause",
            "mode_id",
            "item",
            "function",
            "owner",
        ):
            row[key] = HOSTILE
        row["recommended_actions"] = [HOSTILE, HOSTILE]
    return report


def test_markdown_cells_stay_in_their_cells() -> None:
    text = render_markdown(hostile_report())
    table = [line for line in text.splitlines() if line.startswith("| ") and "FM-" in line]
    assert table
    for line in table:
        unescaped = line.replace("\\\\", "").replace("\\|", "")
        assert unescaped.count("|") == 19  # 18 columns
        assert "<script>" not in line
        assert "\x01" not in line
    assert text.splitlines()[0] == "# FMEA: " + md(HOSTILE)
    assert md("`a`|b\nc") == "\\`a\\`\\|b c"
    assert md_code("a``b") == "```a``b```"
    assert md_code("`a") == "`` `a ``"


def test_html_escapes_every_field() -> None:
    page = render_html(hostile_report())
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_junit_is_valid_xml_with_control_characters_stripped() -> None:
    xml = render_junit(hostile_report())
    root = ET.fromstring(xml.encode("utf-8"))
    case = root.find("testsuite/testcase")
    assert case is not None
    assert "\x01" not in ET.tostring(root, encoding="unicode")
    assert xml_text("a\x00b\x0bc\td\ufffe") == "abc\td"


def test_json_and_sarif_are_strict() -> None:
    report = hostile_report()
    json.loads(render_sarif(report))
    for row in report["rows"]:
        row["rpn"] = row["line"] = float("nan")
    for render in (render_json, render_sarif):
        with pytest.raises(ValueError, match="JSON compliant"):
            render(report)


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def expected_set(architecture: Path) -> dict[str, bytes]:
    files = analyse(architecture, formats=FORMATS).files
    return {name: content.encode() for name, content in sorted(files.items())}


def test_a_set_replaces_the_old_one_whole(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out"
    replace_file_set(out, {"fmea.md": "old", "fmea.html": "old"}, replaces=EXTENSIONS.values())
    (out / "README.md").write_text("mine")
    replace_file_set(out, {"fmea.md": "new", "fmea.json": "{}"}, replaces=EXTENSIONS.values())
    assert listing(out) == {"README.md": b"mine", "fmea.json": b"{}", "fmea.md": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (out / "fmea.md").stat().st_mode & 0o777 == 0o644
    assert out.stat().st_mode & 0o777 == 0o755


def test_files_respect_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        replace_file_set(tmp_path / "out", {"fmea.md": "x"})
        atomic_write(tmp_path / "lock.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "fmea.md").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "lock.json").stat().st_mode & 0o777 == 0o600
    os.umask(0o022)
    try:
        atomic_write(tmp_path / "lock.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "lock.json").stat().st_mode & 0o777 == 0o644


def test_a_folder_with_subfolders_or_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out" / "sub").mkdir(parents=True)
    with pytest.raises(InputError, match="holds the folder 'sub'"):
        replace_file_set(tmp_path / "out", {"fmea.md": "x"})
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        replace_file_set(tmp_path / "file", {"fmea.md": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]


def test_stale_siblings_of_killed_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f".out.agentkit-tmp-{dead.stdout.strip()}-abc"
    stale.mkdir()
    (stale / "fmea.md").write_text("half")
    replace_file_set(tmp_path / "out", {"fmea.md": "x"})
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_nothing_is_written_inside_site_packages(tmp_path: Path) -> None:
    installed = Path(sysconfig.get_paths()["purelib"]) / "agentkit" / "_data" / "tools"
    with pytest.raises(InputError, match="agentkit never writes there"):
        refuse_installed(installed / "contracts.lock.json")
    with pytest.raises(InputError, match="installed package"):
        atomic_write(installed / "contracts.lock.json", "{}")
    refuse_installed(tmp_path / "contracts.lock.json")
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "tools", "lock", "--root", str(installed)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pass its path (e.g. agentkit tools lock --root ./tools)" in result.stderr


def test_out_in_a_read_only_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/agentkit-out")  # even root cannot create folders in /proc
    else:
        locked = tmp_path / "ro"
        locked.mkdir(mode=0o555)
        target = locked / "out"
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "fmea", str(OLD), "--no-model", "--out", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("agentkit: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_sigkill_at_any_point_leaves_the_old_or_the_new_set(tmp_path: Path) -> None:
    old, new = expected_set(OLD), expected_set(NEW)
    assert old != new
    out = tmp_path / "out"
    rng = random.Random(11)
    command = [sys.executable, "-m", "agentkit", "fmea", str(NEW), "--no-model", "--out", str(out)]
    command += ["--format", ",".join(FORMATS)]
    for attempt in range(6):
        replace_file_set(out, dict(old), replaces=EXTENSIONS.values())
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 2 == 0:  # the moment the staging folder appears: mid-write
            while process.poll() is None and not any(tmp_path.glob(".out.agentkit-tmp-*")):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.003))
        else:
            time.sleep(rng.uniform(0.3, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        found = listing(out)
        assert found in (old, new), sorted(found)
    assert subprocess.run(command, capture_output=True, check=False).returncode in (0, 3)
    assert listing(out) == new
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
