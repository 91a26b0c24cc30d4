"""The price table: Bedrock per model, Region and tier, and the DR building blocks, as data.

``agentkit/data/prices-v1.json`` carries every figure with its source and the day it was read,
and lists what it does not cover. A lookup never guesses: a model, Region or tier the table has
no figure for is ``None``, and the caller says so. An entry whose source states no Region applies
to every Region, and one that states no tier is read as the default (standard, on-demand) tier;
:class:`ModelPrice.assumptions` says both out loud.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.capacity.burndown import base_model_id
from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agentkit.config import Route
    from agentkit.resilience.budget import Pricer

TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "prices-v1.json"
HOURS_PER_MONTH = 730  # 8,760 hours a year / 12: AWS's monthly figures use the same convention
DEFAULT_TIER = "default"


@dataclass(frozen=True)
class Source:
    url: str
    via: str
    read: str
    says: str

    def cite(self) -> str:
        return f"{self.url} (read {self.read})"


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1,000 tokens for one model; ``regions``/``tier`` None: the source gives none."""

    model: str
    name: str
    input_per_1k: float
    output_per_1k: float
    regions: tuple[str, ...] | None
    tier: str | None
    source: Source
    notes: str

    def assumptions(self) -> tuple[str, ...]:
        said = []
        if self.regions is None:
            said.append(f"{self.name}: one price for every Region (the source gives no Region)")
        if self.tier is None:
            said.append(
                f"{self.name}: the source states no service tier; read as the default "
                "(standard, on-demand) tier"
            )
        return tuple(said)


@dataclass(frozen=True)
class ItemPrice:
    """A DR building block: ``usd`` per ``unit``, or a discount ``fraction``."""

    key: str
    usd: float | None
    fraction: float | None
    unit: str
    partitions: tuple[str, ...] | None
    source: Source


@dataclass(frozen=True)
class PriceTable:
    version: int
    read: str
    currency: str
    path: str
    models: tuple[ModelPrice, ...]
    items: dict[str, ItemPrice]
    not_covered: tuple[str, ...]

    def model_price(self, model_id: str, region: str, tier: str | None) -> ModelPrice | None:
        """The price of ``model_id`` (a profile is priced as its base model) in ``region`` at
        ``tier`` (None: the default tier), or None when the table has no such figure."""
        base = base_model_id(model_id)
        wanted = tier or DEFAULT_TIER
        for entry in self.models:
            if entry.model != base:
                continue
            if entry.regions is not None and region not in entry.regions:
                continue
            if (entry.tier or DEFAULT_TIER) == wanted:
                return entry
        return None

    def item(self, key: str) -> ItemPrice:
        return self.items[key]

    def label(self) -> str:
        return f"prices-v{self.version}, read {self.read}"


def _source(where: str, raw: Any) -> Source:
    if not isinstance(raw, dict) or not all(k in raw for k in ("url", "via", "read", "says")):
        raise ConfigError(f"{where}: a source needs url, via, read and says")
    return Source(str(raw["url"]), str(raw["via"]), str(raw["read"]), str(raw["says"]))


def _model(path: Path, index: int, raw: dict[str, Any]) -> ModelPrice:
    where = f"{path}: bedrock[{index}]"
    try:
        regions = raw["regions"]
        return ModelPrice(
            model=str(raw["model"]),
            name=str(raw["name"]),
            input_per_1k=float(raw["input_per_1k"]),
            output_per_1k=float(raw["output_per_1k"]),
            regions=None if regions is None else tuple(str(r) for r in regions),
            tier=None if raw["tier"] is None else str(raw["tier"]),
            source=_source(where, raw["source"]),
            notes=str(raw.get("notes", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc!r} (see agentkit/data/prices-v1.json)") from None


def _item(path: Path, key: str, raw: dict[str, Any]) -> ItemPrice:
    where = f"{path}: items.{key}"
    try:
        usd, fraction, parts = raw.get("usd"), raw.get("fraction"), raw.get("partitions")
        return ItemPrice(
            key=key,
            usd=None if usd is None else float(usd),
            fraction=None if fraction is None else float(fraction),
            unit=str(raw["unit"]),
            partitions=None if parts is None else tuple(str(p) for p in parts),
            source=_source(where, raw["source"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc!r} (see agentkit/data/prices-v1.json)") from None


def load_prices(path: Path | None = None) -> PriceTable:
    """The table at ``path``, or the packaged one; a malformed file is one :class:`ConfigError`."""
    if path is None:
        return default_prices()
    return _read(path)


@functools.cache
def default_prices() -> PriceTable:
    return _read(TABLE_PATH)


def _read(path: Path) -> PriceTable:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or not {"version", "read", "bedrock", "items"} <= set(raw):
        raise ConfigError(
            f"{path}: a price table has version, read, bedrock and items "
            "(see agentkit/data/prices-v1.json)"
        )
    return PriceTable(
        version=int(raw["version"]),
        read=str(raw["read"]),
        currency=str(raw.get("currency", "USD")),
        path=str(path),
        models=tuple(_model(path, i, m) for i, m in enumerate(raw["bedrock"])),
        items={k: _item(path, k, v) for k, v in raw["items"].items()},
        not_covered=tuple(f"{n['what']}: {n['why']}" for n in raw.get("not_covered", [])),
    )


def route_pricer(routes: Sequence[Route], table: PriceTable | None = None) -> Pricer:
    """The run budget's price lookup (USD per 1,000 input and output tokens) over ``table``,
    refusing up front any route it cannot price: a dollar limit on unpriced calls would be a
    limit in name only."""
    prices = table or default_prices()
    unpriced = [
        r.name for r in routes if prices.model_price(r.model, r.region, r.service_tier) is None
    ]
    if unpriced:
        raise ConfigError(
            f"limits.run_cost_budget_usd: {', '.join(unpriced)} has no price in {prices.label()} "
            "(it prices only what its sources give: see its not_covered list); price the "
            "model or remove the limit"
        )

    def price(model: str, region: str | None, tier: str | None) -> tuple[float, float] | None:
        entry = prices.model_price(model, region or "", tier)
        return None if entry is None else (entry.input_per_1k, entry.output_per_1k)

    return price
