from __future__ import annotations

from agentkit.dependencies import find_cycle


def test_a_cycle_reads_in_depends_on_order() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


def test_no_cycle_and_unknown_names_are_ignored() -> None:
    assert find_cycle({"a": ["b", "elsewhere"], "b": []}) is None


def test_a_chain_of_any_depth_is_safe() -> None:
    chain = {str(i): [str(i + 1)] for i in range(20_000)}
    assert find_cycle(chain) is None
    chain["20000"] = ["0"]
    cycle = find_cycle(chain)
    assert cycle is not None
    assert len(cycle) == 20_002
