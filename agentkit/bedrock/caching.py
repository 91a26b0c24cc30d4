"""Prompt caching: which models take a Converse ``cachePoint``, and where a request gets one.

A request marks its stable prefix (the tool specifications and its first ``n`` system blocks,
see :attr:`ModelRequest.cached_system_blocks`); :func:`add_cache_point` puts one
``{"cachePoint": {"type": "default"}}`` right after it, on the route's model only, when the
packaged table (``agentkit/data/prompt-caching-v1.json``, with its sources) lists the model and
the prefix reaches the model's minimum tokens per checkpoint (below it Bedrock accepts the
block but caches nothing). A model the table does not list gets no ``cachePoint``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.bedrock.tokens import block_tokens, json_tokens
from agentkit.capacity.burndown import base_model_id

TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "prompt-caching-v1.json"
CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}


@dataclass(frozen=True)
class CachingModel:
    """One row of the table: a model that takes ``cachePoint`` blocks, and its limits."""

    match: str
    name: str
    min_tokens: int  # per cache checkpoint
    max_checkpoints: int  # per request
    fields: frozenset[str]  # "system", "messages", "tools"


@dataclass(frozen=True)
class CachingTable:
    version: int
    ttl_s: float
    models: tuple[CachingModel, ...]

    def lookup(self, model_id: str) -> CachingModel | None:
        """The row whose ``match`` is the longest prefix of the base model ID, or None."""
        base = base_model_id(model_id)
        hits = [row for row in self.models if base.startswith(row.match)]
        return max(hits, key=lambda row: len(row.match), default=None)


@functools.cache
def caching_table() -> CachingTable:
    """The packaged table (read once)."""
    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return CachingTable(
        version=int(raw["version"]),
        ttl_s=float(raw["ttl_s"]),
        models=tuple(
            CachingModel(
                match=row["match"],
                name=row["name"],
                min_tokens=int(row["min_tokens"]),
                max_checkpoints=int(row["max_checkpoints"]),
                fields=frozenset(row["fields"]),
            )
            for row in raw["models"]
        ),
    )


def prefix_tokens(
    row: CachingModel, tools: Sequence[dict[str, Any]], system: Sequence[dict[str, Any]]
) -> int:
    """Tokens of the prefix a cachePoint after ``system`` covers (tools first, when the model
    caches them), by agentkit's one counting rule."""
    tokens = sum(block_tokens(block) for block in system)
    if "tools" in row.fields:
        tokens += sum(json_tokens(spec) for spec in tools)
    return tokens


def add_cache_point(kwargs: dict[str, Any], model: str, stable_system_blocks: int) -> bool:
    """Put a ``cachePoint`` after the stable prefix of Converse ``kwargs`` for ``model``.

    The prefix is the tool specifications and the first ``stable_system_blocks`` system blocks;
    with no stable system block, the point goes after the tools (when the model caches them).
    Returns whether a point was added.
    """
    row = caching_table().lookup(model)
    if row is None:
        return False
    system: list[dict[str, Any]] = kwargs.get("system") or []
    tool_entries: list[dict[str, Any]] = (kwargs.get("toolConfig") or {}).get("tools") or []
    tools = [entry["toolSpec"] for entry in tool_entries if "toolSpec" in entry]
    stable = system[: max(0, stable_system_blocks)]
    if prefix_tokens(row, tools, stable) < row.min_tokens:
        return False
    if stable and "system" in row.fields:
        kwargs["system"] = [*stable, dict(CACHE_POINT), *system[len(stable) :]]
        return True
    if tools and "tools" in row.fields:
        kwargs["toolConfig"]["tools"] = [*tool_entries, dict(CACHE_POINT)]
        return True
    return False
