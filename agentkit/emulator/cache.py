"""The emulator's prompt cache: Converse ``cachePoint`` blocks read and written as Bedrock does.

A request's prompt is read in Bedrock's prefix order: tool specifications, then system blocks,
then the messages. Each ``cachePoint`` in a field the model caches (the table in
``agentkit/data/prompt-caching-v1.json``) is a checkpoint: the prefix before it, hashed. A
checkpoint with fewer than the model's minimum tokens since the previous one caches nothing
(Bedrock accepts it). The longest checkpoint already cached in the serving Region for that
model, within its TTL (5 minutes from its last hit, on the injected clock), is read; the
checkpoints after it are written. ``inputTokens`` is what is left: the total minus the tokens
read and written. A model the table does not list, or a request with no ``cachePoint``, is
billed as before.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agentkit.bedrock.caching import CachingModel, caching_table
from agentkit.bedrock.tokens import block_tokens, json_tokens
from agentkit.capacity.burndown import base_model_id
from agentkit.emulator.wire_errors import BedrockError
from agentkit.resilience.clock import Clock


@dataclass(frozen=True)
class CacheUsage:
    """What a request read from and wrote to the cache; zero when caching did not apply."""

    read: int = 0
    write: int = 0


@dataclass(frozen=True)
class _Checkpoint:
    digest: str
    tokens: int  # of the whole prefix before the cachePoint


class PromptCache:
    """Cached prefixes per (Region, base model), with their expiry; thread-safe."""

    def __init__(self, clock: Clock, ttl_s: float | None = None) -> None:
        self._clock = clock
        self.ttl_s = caching_table().ttl_s if ttl_s is None else ttl_s
        self._expiry: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def apply(self, region: str, model: str, request: dict[str, Any]) -> CacheUsage:
        """Read and write the request's checkpoints; what it read and wrote."""
        row = caching_table().lookup(model)
        if row is None:
            return CacheUsage()
        checkpoints = _checkpoints(row, request)
        if not checkpoints:
            return CacheUsage()
        base = base_model_id(model)
        now = self._clock.now()
        with self._lock:
            read = 0
            for point in reversed(checkpoints):
                key = (region, base, point.digest)
                if self._expiry.get(key, float("-inf")) > now:
                    read = point.tokens
                    break
            for point in checkpoints:  # hits are refreshed, misses written
                self._expiry[(region, base, point.digest)] = now + self.ttl_s
        return CacheUsage(read=read, write=checkpoints[-1].tokens - read)

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()


def _checkpoints(row: CachingModel, request: dict[str, Any]) -> list[_Checkpoint]:
    """The request's checkpoints that cache something, in prompt order."""
    digest = hashlib.sha256()
    tokens = 0
    since = 0  # tokens since the last checkpoint that counted
    points: list[_Checkpoint] = []
    marked = 0
    for field, block in _prompt(request):
        if "cachePoint" not in block:
            digest.update(field.encode() + b"\0" + _canonical(block) + b"\0")
            cost = json_tokens(block["toolSpec"]) if field == "tools" else block_tokens(block)
            tokens += cost
            since += cost
            continue
        marked += 1
        if marked > row.max_checkpoints:
            raise BedrockError(
                "ValidationException",
                f"A maximum of {row.max_checkpoints} cachePoint blocks are allowed per request "
                f"for {row.name}.",
            )
        if field in row.fields and since >= row.min_tokens:
            points.append(_Checkpoint(digest.copy().hexdigest(), tokens))
            since = 0
    return points


def _prompt(request: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field, block) in Bedrock's prefix order; a message boundary is part of the prefix."""
    for tool in (request.get("toolConfig") or {}).get("tools") or []:
        if isinstance(tool, dict) and ("toolSpec" in tool or "cachePoint" in tool):
            yield "tools", tool
    for block in request.get("system") or []:
        if isinstance(block, dict):
            yield "system", block
    for message in request.get("messages") or []:
        yield "messages", {"role": message.get("role")}
        for block in message.get("content") or []:
            if isinstance(block, dict):
                yield "messages", block


def _canonical(block: dict[str, Any]) -> bytes:
    return json.dumps(block, sort_keys=True, separators=(",", ":"), default=str).encode()
