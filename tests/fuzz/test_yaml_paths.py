"""The event loop that builds most YAML documents agrees with composing and building nodes.

``load_yaml`` builds a document straight from the parser's events unless it uses anchors,
aliases, tags or merge keys; then it composes nodes. Both must give the same values, the same
line of every key and item, and the same error.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from agentkit import yamlsource
from tests.fuzz.conftest import VALUES, YAML_TEXT, fuzz


def _outcome(text: str, *, events: bool) -> Any:
    loader = yamlsource._LimitedLoader(text)
    lines: dict[Any, int] = {}
    builder = yamlsource._Builder(loader, lines)
    try:
        if events:
            data = builder.from_events()
            if data is yamlsource._COMPOSE:
                return yamlsource._COMPOSE
        else:
            node = loader.get_single_node()
            data = builder.build(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return type(exc).__name__, getattr(exc, "problem", str(exc)), mark and mark.line
    finally:
        loader.dispose()
    return repr(data), lines


def _block(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


@fuzz(300)
@given(st.one_of(YAML_TEXT, VALUES.map(_block), VALUES.map(lambda v: _block({"k": v, "l": [v]}))))
@example("a: 1\na: 2\n")
@example("[1, 2]: x\n")
@example("1: a\n'1': b\n")
@example("a: 2020-01-01\nb: 0x10\nc: .inf\n")
@example("a: " + "[" * 70 + "]" * 70)
@example("- a\n- b: [1, {c: d}]\n---\n")
def test_events_agree_with_nodes(text: str) -> None:
    fast = _outcome(text, events=True)
    if fast is not yamlsource._COMPOSE:
        assert fast == _outcome(text, events=False)


def test_anchors_tags_and_merge_keys_are_composed() -> None:
    expected = {
        "a: &x [1]\nb: *x\n": {"a": [1], "b": [1]},
        "<<: {a: 1}\nb: 2\n": {"a": 1, "b": 2},
        "a: !!str 1\n": {"a": "1"},
    }
    for text, data in expected.items():
        assert _outcome(text, events=True) is yamlsource._COMPOSE
        assert yamlsource.load_yaml(text, "in.yaml").data == data


def test_the_value_limit_holds_on_the_event_path() -> None:
    text = "[" + ",".join(["1"] * (yamlsource.MAX_NODES + 1)) + "]"
    outcome = _outcome(text, events=True)
    assert outcome[1] == f"more than {yamlsource.MAX_NODES:,} values"
