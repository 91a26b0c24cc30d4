"""Context budget: each request is sized against its route's context window before it is sent.

The policy (docs/gateway.md, "Context budget"):

- A route's window is the smaller of its model's in the packaged table
  (``agentkit/data/context-windows-v1.json``, each figure with its source) and the route's
  configured ``context_window``. With neither, the window is unknown: the request is sized and
  recorded but never refused.
- The input tokens are estimated with agentkit's one counting rule
  (:mod:`agentkit.bedrock.tokens`). When the estimate plus ``max_tokens`` comes within
  :data:`COUNT_MARGIN` of the window, or the route asks for exact counting (``count_tokens:
  true``), and the model takes ``CountTokens`` (the table, or the route's own request), Bedrock's
  ``CountTokens`` on that route's Region gives the figure instead (with the bare foundation-model
  ID, the only form it accepts). A failed count falls back to the estimate: sizing never fails a
  call by failing itself. The count is bounded by the call's deadline, recorded when it fails,
  and not asked again on a route that refused it (:mod:`agentkit.bedrock.counting`).
- Input plus ``max_tokens`` over the window (an estimate counts with :data:`COUNT_MARGIN` on
  top, since it can be that far off; a CountTokens figure counts as it is): the route is passed
  over for one with a larger window; with none left,
  :class:`~agentkit.errors.ContextWindowExceeded` says what to do, and nothing was sent.

The figure and its source (``count_tokens`` or ``estimate``) go on the attempt and the span.
The sync and the async gateway share :func:`plan` and :func:`settle`; only the ``CountTokens``
call between them is awaited or not.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentkit.bedrock.tokens import converse_input_tokens
from agentkit.capacity.burndown import base_model_id
from agentkit.config import Route
from agentkit.errors import ContextWindowExceeded

TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "context-windows-v1.json"
# Count exactly when the estimate plus max_tokens reaches (1 - COUNT_MARGIN) of the window: the
# estimate (about four bytes a token) can be off by this much for code, JSON or non-English text.
COUNT_MARGIN = 0.2
Source = Literal["count_tokens", "estimate"]


@dataclass(frozen=True)
class WindowRow:
    """One row of the table: a model family's window and whether CountTokens takes it."""

    match: str
    name: str
    context_window: int | None
    max_output: int | None
    count_tokens: bool


@dataclass(frozen=True)
class WindowTable:
    version: int
    models: tuple[WindowRow, ...]

    def lookup(self, model_id: str) -> WindowRow | None:
        """The row whose ``match`` is the longest prefix of the base model ID, or None."""
        base = base_model_id(model_id)
        hits = [row for row in self.models if base.startswith(row.match)]
        return max(hits, key=lambda row: len(row.match), default=None)


@functools.cache
def window_table() -> WindowTable:
    """The packaged table (read once)."""
    raw = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return WindowTable(
        version=int(raw["version"]),
        models=tuple(
            WindowRow(
                match=row["match"],
                name=row["name"],
                context_window=row["context_window_tokens"],
                max_output=row["max_output_tokens"],
                count_tokens=bool(row["count_tokens"]),
            )
            for row in raw["models"]
        ),
    )


@functools.lru_cache(maxsize=256)
def model_row(model_id: str) -> WindowRow | None:
    """The table's row for a model ID (looked up once per ID)."""
    return window_table().lookup(model_id)


def route_window(route: Route) -> int | None:
    """The smaller of the table's window for the route's model and the configured one."""
    row = model_row(route.model)
    known = [w for w in (row.context_window if row else None, route.context_window) if w]
    return min(known, default=None)


@dataclass(frozen=True)
class Plan:
    """What is known of a request on a route before any CountTokens call."""

    route: Route
    estimate: int
    max_tokens: int
    window: int | None
    count: bool  # whether to ask CountTokens for the figure


@dataclass(frozen=True)
class Sizing:
    """A request sized for a route: its input tokens, where they come from, and the window."""

    route: Route
    input_tokens: int
    source: Source
    max_tokens: int
    window: int | None
    # Why CountTokens' figure is missing when the plan asked for it: the failed count's error
    # code, or agentkit.bedrock.counting's NoTimeLeft / CountRefused (the estimate stood in).
    uncounted: str | None = None

    @property
    def fits(self) -> bool:
        """Input plus ``max_tokens`` within the window; an estimate must fit with
        :data:`COUNT_MARGIN` to spare (it can be that far off), a count exactly."""
        if self.window is None:
            return True
        needed = (
            self.input_tokens * (1 + COUNT_MARGIN)
            if self.source == "estimate"
            else self.input_tokens
        )
        return needed + self.max_tokens <= self.window

    def error(self) -> ContextWindowExceeded:
        assert self.window is not None, "a request with no known window always fits"
        return ContextWindowExceeded(
            input_tokens=self.input_tokens,
            max_tokens=self.max_tokens,
            window=self.window,
            source=self.source,
            model_id=self.route.model,
            region=self.route.region,
        )


def plan(route: Route, kwargs: dict[str, Any]) -> Plan:
    """The estimate of the Converse ``kwargs`` on ``route``, and whether to count exactly."""
    estimate = converse_input_tokens(kwargs)
    max_tokens = int((kwargs.get("inferenceConfig") or {}).get("maxTokens") or 0)
    window = route_window(route)
    row = model_row(route.model)
    counts = route.count_tokens or (row is not None and row.count_tokens)
    near = window is not None and estimate + max_tokens >= window * (1 - COUNT_MARGIN)
    return Plan(route, estimate, max_tokens, window, counts and (near or route.count_tokens))


def count_params(plan: Plan, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``CountTokens`` parameters for the Converse ``kwargs``: the bare foundation-model ID, and
    the fields ``ConverseTokensRequest`` takes."""
    fields = ("messages", "system", "toolConfig", "additionalModelRequestFields")
    converse = {key: kwargs[key] for key in fields if kwargs.get(key)}
    return {"modelId": base_model_id(plan.route.model), "input": {"converse": converse}}


def settle(plan: Plan, counted: int | None, uncounted: str | None = None) -> Sizing:
    """The sizing of a plan: CountTokens' figure when there is one, else the estimate (and
    why there was no figure)."""
    if counted is None:
        window = plan.window
        return Sizing(plan.route, plan.estimate, "estimate", plan.max_tokens, window, uncounted)
    return Sizing(plan.route, counted, "count_tokens", plan.max_tokens, plan.window)
