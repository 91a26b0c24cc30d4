"""The shared YAML and JSON loaders: bounded work, finite numbers, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.errors import InputError, UserError
from agentkit.yamlsource import (
    MAX_DEPTH,
    MAX_INPUT_BYTES,
    json_depth,
    load_yaml,
    parse_json,
    read_json,
    read_yaml,
)

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def error_of(text: str) -> str:
    with pytest.raises(UserError) as caught:
        load_yaml(text, "in.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_billion_laughs_is_refused_quickly() -> None:
    assert "aliases" in error_of(LAUGHS)
    assert "more than 100 aliases" in error_of(LAUGHS + "j: [" + ", ".join(["*i"] * 40) + "]\n")


def test_a_few_aliases_and_merge_keys_still_work() -> None:
    doc = load_yaml("base: &b {x: 1}\none: {<<: *b, y: 2}\ntwo: *b\n", "in.yaml")
    assert doc.data == {"base": {"x": 1}, "one": {"x": 1, "y": 2}, "two": {"x": 1}}


def test_expansion_is_bounded_even_within_the_alias_limit() -> None:
    text = "a: &a [" + ", ".join(["x"] * 6000) + "]\n"
    text += "b: [" + ", ".join(["*a"] * 99) + "]\n"
    assert "expands to more than 200,000 values" in error_of(text)


def test_deep_nesting_is_refused_before_recursion() -> None:
    assert "nest" in error_of("[" * 5000 + "]" * 5000)  # libyaml may refuse it first
    assert f"nested more than {MAX_DEPTH}" in error_of(
        "a:\n" + "".join("  " * i + "a:\n" for i in range(1, 100))
    )


def test_recursive_alias_is_refused() -> None:
    assert "refers to itself" in error_of("a: &a [1, *a]\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x: .inf\n", "numbers must be finite"),
        ("x: -.Inf\n", "numbers must be finite"),
        ("x: .nan\n", "numbers must be finite"),
        ("x: " + "9" * 5000 + "\n", "invalid value"),
        ("x: 2001-13-45\n", "invalid value"),
        ("? [a, b]\n: 1\n", "a key must be a plain value"),
        ("x: 1\nx: 2\n", "duplicate key"),
        ("x: \x00\n", "invalid YAML"),
    ],
)
def test_bad_values_are_one_line_naming_the_line(text: str, problem: str) -> None:
    message = error_of(text)
    assert message.startswith("in.yaml")
    assert problem in message


def test_files_are_checked_for_size_encoding_and_nul(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_INPUT_BYTES + 1))
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: \xff\xfe\n")
    nul = tmp_path / "nul.json"
    nul.write_bytes(b'{"a": "\x00"}')
    for path, problem in [
        (big, "input too large"),
        (binary, "not UTF-8 text"),
        (nul, "NUL byte"),
        (tmp_path, "is a directory"),
        (tmp_path / "missing.yaml", "file not found"),
    ]:
        with pytest.raises(InputError, match=problem):
            read_yaml(path, InputError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"x": NaN}', "NaN is not a JSON number"),
        ('{"x": -Infinity}', "-Infinity is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ("[" * 100 + "]" * 100, "nested more than"),
        ("1" * 5000, "invalid JSON"),
        ('{"x": ', "invalid JSON"),
    ],
)
def test_json_is_strict_and_bounded(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as caught:
        parse_json(text, "in.json", InputError)
    assert "\n" not in str(caught.value)


def test_json_depth_is_iterative() -> None:
    value: list[object] = []
    for _ in range(10_000):
        value = [value]
    assert json_depth(value) == 10_001
    assert json_depth({"a": [1, {"b": 2}]}) == 3


def test_read_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{\n "a": 1,\n}')
    with pytest.raises(InputError, match=rf"^{path}:3: invalid JSON"):
        read_json(path, InputError)
    path.write_text(json.dumps({"a": [1, 2]}))
    assert read_json(path, InputError) == {"a": [1, 2]}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from agentkit.cli.app import main

    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    err = capsys.readouterr().err
    return int(exited.value.code or 0), err


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"[" * 50_000 + b"]" * 50_000, "nested more than"),
        (b'{"a": "\x00"}', "NUL byte"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"1" * 10_000, "invalid JSON"),
    ],
)
def test_tools_call_input_is_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: bytes, problem: str
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(payload)
    code, err = cli(capsys, "tools", "call", "dr_advisor", "--input", str(path))
    assert code == 2
    assert err.startswith(f"agentkit: error: {path}")
    assert problem in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("question", "problem"),
    [("a\x00b", "NUL byte"), ("x" * 20_001, "the limit is 20,000"), ("  ", "empty")],
)
def test_ask_checks_the_question_before_work(
    capsys: pytest.CaptureFixture[str], question: str, problem: str
) -> None:
    code, err = cli(capsys, "ask", question)
    assert code == 2
    assert problem in err
    assert len(err.strip().splitlines()) == 1


def test_integers_beyond_64_bits_are_refused() -> None:
    assert load_yaml(f"a: {2**63 - 1}", "in.yaml").data == {"a": 2**63 - 1}
    assert "integer out of range" in error_of(f"a: {2**63}")
    assert parse_json(str(-(2**63) + 1), "in.json") == -(2**63) + 1
    with pytest.raises(InputError, match="out of range"):
        parse_json(f'{{"a": {10**30}}}', "in.json", InputError)


def test_the_pure_python_loader_keeps_the_same_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit import yamlsource

    monkeypatch.setattr(yamlsource, "_LimitedLoader", yamlsource._PureLoader)
    assert f"nested more than {MAX_DEPTH}" in error_of("[" * 5000 + "]" * 5000)
    assert "more than 100 aliases" in error_of(LAUGHS + "j: [" + ", ".join(["*i"] * 40) + "]\n")
    monkeypatch.setattr(yamlsource, "MAX_NODES", 1000)
    assert "more than 1,000 values" in error_of("- a\n" * 1001)
    assert "invalid YAML" in error_of("x: \x00\n")
    assert load_yaml("a: &x {b: 1}\nc: {<<: *x}\n", "in.yaml").data == {
        "a": {"b": 1},
        "c": {"b": 1},
    }
