"""AWS Regions, partitions, residency geographies and cross-Region inference destinations.

The one table of Region facts in agentkit: residency checks, the DR advisor, the capacity
calculator and the emulator's CRIS routing all read it. Two sources, both data:

- partitions and their Regions come from the AWS SDK's partition metadata
  (``botocore/data/partitions.json``, read as a file: botocore is not imported);
- residency geographies, country names and inference-profile destinations per source Region
  come from ``agentkit/data/geographies-v1.json``, which names its sources and the date read.
  A geography is never derived from a Region name's prefix: eu-west-2 is the UK, not the EU.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from agentkit.errors import UserError

_DATA = Path(__file__).resolve().parent / "data" / "geographies-v1.json"


def _botocore_partitions() -> dict[str, tuple[str, ...]]:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed: reinstall agentkit-bedrock")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "partitions.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        p["id"]: tuple(sorted(r for r in p["regions"] if not r.endswith("-global")))
        for p in document["partitions"]
    }


_TABLE: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
_PARTITION_REGIONS = _botocore_partitions()
_PARTITION_BY_REGION = {r: p for p, members in _PARTITION_REGIONS.items() for r in members}

PARTITIONS: tuple[str, ...] = tuple(_PARTITION_REGIONS)
REGIONS: frozenset[str] = frozenset(_PARTITION_BY_REGION)

# Residency geographies: where data may be processed or stored (token -> Regions).
GEOGRAPHIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {token: tuple(entry["regions"]) for token, entry in _TABLE["geographies"].items()}
)
GEOGRAPHY_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {token: entry["name"] for token, entry in _TABLE["geographies"].items()}
)
# Country and area names a person writes ("Germany", "European Union") -> geography token.
ALIASES: MappingProxyType[str, str] = MappingProxyType(dict(_TABLE["aliases"]))
_HOME_ORDER: tuple[str, ...] = tuple(_TABLE["home_order"])

# (profile prefix) -> [(source Regions, destination Regions)]: where a geographic inference
# profile may process a request, by the Region it is called in.
_PROFILE_ROUTES: dict[str, tuple[tuple[frozenset[str], tuple[str, ...]], ...]] = {
    prefix: tuple(
        (frozenset(route["sources"]), tuple(sorted(route["destinations"]))) for route in routes
    )
    for prefix, routes in _TABLE["profiles"].items()
}
# Every Region a geographic profile may route to, from any source (the worst case).
PROFILE_DESTINATIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        prefix: tuple(sorted({r for _, destinations in routes for r in destinations}))
        for prefix, routes in _PROFILE_ROUTES.items()
    }
)
GLOBAL_PROFILE = "global"


def is_known_region(region: str) -> bool:
    return region in REGIONS


def require_known_region(region: str, error: type[UserError] = UserError) -> str:
    if region not in REGIONS:
        hint = _closest(region)
        raise error(f"unknown Region {region!r}" + (f"; did you mean {hint}?" if hint else ""))
    return region


def _closest(region: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(region, sorted(REGIONS), n=1, cutoff=0.75)
    return matches[0] if matches else None


def geography_of(region: str) -> str | None:
    """The home geography of a Region: ``eu`` for eu-west-1, ``uk`` for eu-west-2."""
    for geography in _HOME_ORDER:
        if region in GEOGRAPHIES[geography]:
            return geography
    return None


def partition_of(region: str) -> str:
    """The Region's partition from the SDK metadata: fallback and replication never cross it.

    An unknown Region is reported as ``aws``; validate it first with :func:`require_known_region`.
    """
    return _PARTITION_BY_REGION.get(region, "aws")


def partition_regions(partition: str) -> tuple[str, ...]:
    return _PARTITION_REGIONS.get(partition, ())


def geography_token(name: str) -> str | None:
    """The geography token for a token or a name (``EU``, ``Germany``, ``the EEA``), or None."""
    key = " ".join(name.lower().split()).removeprefix("the ")
    return key if key in GEOGRAPHIES else ALIASES.get(key)


def regions_in_geography(geography: str) -> tuple[str, ...]:
    """The Regions of a residency geography (token or country name); empty for an unknown one."""
    token = geography_token(geography)
    return GEOGRAPHIES[token] if token else ()


def residency_regions(entries: str | tuple[str, ...] | list[str]) -> frozenset[str] | None:
    """Every Region a residency allows: geographies, country names and Region codes.

    None for no constraint (an empty list). Anything unreadable raises :class:`UserError` naming
    the token and what is accepted: a residency is never dropped.
    """
    items = [entries] if isinstance(entries, str) else list(entries)
    if not items:
        return None
    allowed: set[str] = set()
    for entry in items:
        members = regions_in_geography(entry)
        if members:
            allowed.update(members)
        elif is_known_region(entry.strip().lower()):
            allowed.add(entry.strip().lower())
        else:
            raise UserError(unreadable_residency(entry))
    return frozenset(allowed)


def unreadable_residency(token: str) -> str:
    return (
        f"residency {token!r} is not a geography, country or Region agentkit knows; use one of "
        f"{', '.join(GEOGRAPHIES)}, a country name (Germany, France, ...) or a Region code"
    )


def profile_geography(model_id: str) -> str | None:
    """``us`` for ``us.anthropic...``, ``global`` for ``global....``, None for a plain model ID.

    Case and surrounding space are ignored (``GLOBAL.`` is a global profile for the residency
    check, whatever Bedrock makes of it). Inference-profile ARNs are recognised by their last
    path segment.
    """
    name = model_id.strip().rsplit("/", 1)[-1].strip().lower()
    prefix, dot, rest = name.partition(".")
    if not dot or not rest:
        return None
    if prefix == GLOBAL_PROFILE or prefix in PROFILE_DESTINATIONS:
        return prefix
    return None


def profile_destinations(
    model_id: str, partition: str = "aws", source: str | None = None
) -> tuple[str, ...]:
    """Every Region a call with this model or profile ID may be processed in.

    With ``source``, the destinations of the profile called in that Region (empty when the
    profile cannot be called there); without it, the union over every source Region. Empty for a
    plain model ID: it is processed where it is called.
    """
    geography = profile_geography(model_id)
    if geography == GLOBAL_PROFILE:
        return partition_regions(partition)
    if source is None:
        return PROFILE_DESTINATIONS.get(geography or "", ())
    return routes_from(geography or "", source)


def routes_from(prefix: str, source: str) -> tuple[str, ...]:
    """Where the geographic profile ``prefix`` (``eu``) routes a call made in ``source``; empty
    when it cannot be called there."""
    for sources, destinations in _PROFILE_ROUTES.get(prefix, ()):
        if source in sources:
            return destinations
    return ()


def profiles_from(source: str) -> dict[str, tuple[str, ...]]:
    """Every geographic profile callable in ``source``, with its destinations from there."""
    found = {prefix: routes_from(prefix, source) for prefix in _PROFILE_ROUTES}
    return {prefix: destinations for prefix, destinations in found.items() if destinations}


def profile_for(source: str, allowed: frozenset[str] | None) -> str | None:
    """The geographic profile prefix to use in ``source``: one whose destinations from there stay
    inside ``allowed`` (any, for no residency) and hold more than one Region. Prefers the
    narrowest such profile (``jp.`` over ``apac.``). None: use in-Region model IDs."""
    fitting = [
        (len(destinations), prefix)
        for prefix, destinations in profiles_from(source).items()
        if len(destinations) > 1 and (allowed is None or set(destinations) <= allowed)
    ]
    return min(fitting)[1] if fitting else None


# --- partitions and membership ----------------------------------------------------------------

# The commercial (``aws`` partition) Regions: where a ``global.`` profile may route.
COMMERCIAL_REGIONS: tuple[str, ...] = partition_regions("aws")

EndpointKind = Literal["in-region", "geo-cris", "global-cris"]


def in_geography(region: str, geography: str) -> bool:
    """Whether ``region`` lies in residency ``geography`` (eu-west-1 is in ``eu``; ap-northeast-1
    is in both ``apac`` and ``jp``). False for an unknown geography."""
    return region in regions_in_geography(geography)


def same_partition(*regions: str) -> bool:
    """Whether every Region is in one partition (true for none or one Region)."""
    return len({partition_of(region) for region in regions}) <= 1


def endpoint_kind(model_id: str) -> EndpointKind:
    """``global-cris`` for a ``global.`` profile, ``geo-cris`` for a geographic one (``us.``,
    ``eu.``, ...), ``in-region`` for a plain model ID."""
    geography = profile_geography(model_id)
    if geography == GLOBAL_PROFILE:
        return "global-cris"
    return "in-region" if geography is None else "geo-cris"
