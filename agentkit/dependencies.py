"""Dependency graphs (FMEA ``depends_on``, runbook steps): one cycle check, from graphlib."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping


def find_cycle(depends_on: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a trail ``a -> b -> a`` (a depends on b, which depends on a), or None.

    Dependencies on names outside the graph are ignored (validation reports them apart).
    graphlib searches iteratively, so a chain of any depth is safe.
    """
    graph = {node: [d for d in deps if d in depends_on] for node, deps in depends_on.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))  # graphlib lists predecessors first
    return None
