"""Shared pieces of the fuzz suite: bounded, derandomized hypothesis settings and a CLI runner.

Every test runs a fixed number of examples chosen by a fixed seed (``derandomize``), each with a
size bound (the strategies) and a generous time bound (``deadline``), so the suite is the same on
every run and finishes in well under a minute.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXIT_CODES = (0, 1, 2, 3)  # ok, runtime failure, bad input, gate failed (docs: agentkit --help)


def fuzz(max_examples: int) -> Any:
    """Settings for one fuzz test: the same examples every run, each under the deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=10_000,  # ms per example: a bound on runaway work, far above the normal cost
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def check(self) -> None:
        """A documented exit code, no traceback, and failures as one `agentkit: error:` line."""
        assert self.code in EXIT_CODES, (self.code, self.err[-2000:])
        assert "Traceback" not in self.out + self.err, self.err[-2000:]
        if self.code:
            last = self.err.strip().splitlines()[-1] if self.err.strip() else ""
            assert last.startswith("agentkit: error: "), self.err[-2000:]
            assert not last.startswith("agentkit: error: unexpected "), last


def run_cli(*argv: str) -> Result:
    """``agentkit ARGV`` in this process (start-up once, not per example)."""
    from agentkit.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return Result(code if isinstance(code, int) else 1, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean working folder and AGENTKIT_HOME: no user config, no credentials, offline."""
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("AGENTKIT_HOME", str(folder / "home"))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AGENTKIT_DEBUG"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield folder


# --- strategies --------------------------------------------------------------------------------

HOSTILE_NUMBERS = st.sampled_from(
    [0, -1, 2**63, -(2**63), 10**400, 1e308, -1e308, 5e-324, 0.5, 1.0, 3]
)
HOSTILE_STRINGS = st.sampled_from(
    ["", "\x00", "a\x00b", "db\n", " us-east-1", "GLOBAL.", "x" * 5000, "|`<b>&", "\u202e", "é"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    HOSTILE_NUMBERS,
    HOSTILE_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
YAML_TOKENS = st.sampled_from(
    [
        "a: ",
        "b:\n",
        "- ",
        "  ",
        "\n",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&x ",
        "*x",
        "<<: *x\n",
        ".inf",
        "-.inf",
        ".nan",
        "1e309",
        "9" * 5000,
        "\x00",
        "'",
        '"',
        "? ",
        "|\n",
        ">\n",
        "# c\n",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "\t",
        "~",
        "!!binary ",
        "!!python/object:os.system ",
        "2001-13-45",
        "0x",
        "0o9",
        "!x ",
        "@",
        "`",
        "\ufeff",
        "\x85",
        "\ud7ff",
    ]
)
YAML_TEXT = st.lists(st.one_of(YAML_TOKENS, st.text(max_size=6)), max_size=40).map("".join)


def dump(value: Any) -> str:
    """JSON text (which YAML reads too), keeping NaN and Infinity so readers must refuse them."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False)
