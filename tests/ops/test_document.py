"""The control document's fields: what an operator may type, and what workers read back."""

from __future__ import annotations

import pytest

from agentkit.ops.document import OpsError, Overrides, check_key, parse_assignment


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("kill_switch=on", ("kill_switch", "on")),
        ("kill_switch=TRUE", ("kill_switch", "on")),
        ("kill_switch=off", ("kill_switch", "off")),
        ("max_tokens=0512", ("max_tokens", "512")),
        ("pin=us-west-2", ("pin", "us-west-2")),
        ("pin=us.amazon.nova-pro-v1:0@us-east-2", ("pin", "us.amazon.nova-pro-v1:0@us-east-2")),
        ("tool.knowledge_search=kb_backup", ("tool.knowledge_search", "kb_backup")),
    ],
)
def test_valid_assignments_are_normalised(text: str, parsed: tuple[str, str]) -> None:
    assert parse_assignment(text) == parsed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("kill_switch", "expected KEY=VALUE"),
        ("kill_switch=maybe", "kill_switch=maybe: expected on or off"),
        ("max_tokens=0", "max_tokens=0: expected a whole number from 1"),
        ("max_tokens=-5", "expected a whole number"),
        ("max_tokens=2000000", "expected a whole number"),
        ("pin=", "pin=: expected a Region"),
        ("tool.a=a", "cannot be re-routed to itself"),
        ("tool.Bad=x", "expected tool.NAME=FALLBACK"),
        ("colour=blue", "colour: unknown override; the keys are kill_switch, pin, max_tokens"),
    ],
)
def test_mistakes_are_one_line_naming_the_problem(text: str, says: str) -> None:
    with pytest.raises(OpsError) as raised:
        parse_assignment(text)
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_stored_document_reads_back_and_ignores_what_does_not_parse() -> None:
    stored = {
        "kill_switch": "on",
        "max_tokens": "256",
        "pin": "us-west-2",
        "tool.knowledge_search": "kb_backup",
        "max_tokens_typo": "1",
    }
    overrides = Overrides.from_fields(stored, {"by": "alice", "at": "2026-01-01T00:00:00Z"})
    assert (overrides.kill_switch, overrides.max_tokens, overrides.pin) == (True, 256, "us-west-2")
    assert dict(overrides.tools) == {"knowledge_search": "kb_backup"}
    assert overrides.summary() == (
        "kill_switch=on pin=us-west-2 max_tokens=256 tool.knowledge_search=kb_backup"
    )
    assert overrides.set_by == "alice"
    assert not Overrides.from_fields({"kill_switch": "off"}).active


def test_the_clamp_lowers_never_raises_and_fills_an_unset_max_tokens() -> None:
    clamp = Overrides(max_tokens=512)
    assert (clamp.clamp(4096), clamp.clamp(100), clamp.clamp(None)) == (512, 100, 512)
    assert Overrides().clamp(4096) == 4096


def test_a_pin_matches_a_region_a_model_or_a_route_name() -> None:
    route = ("m1", "us-west-2", "m1@us-west-2")
    assert Overrides(pin="us-west-2").pins(*route)
    assert Overrides(pin="m1").pins(*route)
    assert Overrides(pin="m1@us-west-2").pins(*route)
    assert not Overrides(pin="us-east-1").pins(*route)
    assert Overrides().pins(*route)


def test_clear_takes_only_known_keys() -> None:
    assert check_key("tool.knowledge_search") == "tool.knowledge_search"
    with pytest.raises(OpsError, match="kill: unknown override"):
        check_key("kill")
