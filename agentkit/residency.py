"""Residency: the one place that decides whether a route may be used.

A route is (model or inference profile, Region). It is allowed when its Region is known and
inside ``models.residency`` (a geography such as ``us`` or ``eu``, or a list of Regions and
geographies), when every Region its inference profile can route to is inside it too, when a
``global.`` profile is explicitly allowed, and when it shares the first route's partition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agentkit.errors import ConfigError, UserError
from agentkit.regions import (
    REGIONS,
    is_known_region,
    partition_of,
    profile_destinations,
    profile_geography,
    residency_regions,
)
from agentkit.yamlsource import KeyPath

if TYPE_CHECKING:
    from agentkit.config import ModelsConfig, Route

Locate = Callable[[KeyPath], str]


def allowed_regions(residency: str | tuple[str, ...]) -> frozenset[str]:
    """Every Region the residency setting allows (every known Region for an empty list)."""
    try:
        allowed = residency_regions(residency)
    except UserError as exc:
        raise ConfigError(f"models.{exc}") from None
    return REGIONS if allowed is None else allowed


def route_violation(route: Route, models: ModelsConfig, allowed: frozenset[str]) -> str | None:
    """Why ``route`` breaks residency, or None when it is allowed."""
    if not is_known_region(route.region):
        return f"unknown Region {route.region!r}"
    if route.region not in allowed:
        return f"Region {route.region} is outside residency {_describe(models.residency)}"
    geography = profile_geography(route.model)
    if geography == "global":
        if not models.allow_global_profiles:
            return (
                "global. inference profiles route worldwide; set models.allow_global_profiles: "
                "true to allow them, or use a geographic profile"
            )
        return None
    if geography is not None:
        destinations = set(profile_destinations(route.model, source=route.region))
        if not destinations:
            return f"a {geography}. profile cannot be called in {route.region}"
        outside = sorted(destinations - allowed)
        if outside:
            return (
                f"the {geography}. profile may route to {', '.join(outside)}, outside residency "
                f"{_describe(models.residency)}; use an in-Region model ID or widen the residency"
            )
    return None


def check_routes(models: ModelsConfig, locate: Locate | None = None) -> None:
    """Raise :class:`ConfigError` naming the first route outside residency or partition."""
    allowed = allowed_regions(models.residency)
    first_partition = (
        partition_of(models.routes[0].region) if is_known_region(models.routes[0].region) else None
    )
    for index, route in enumerate(models.routes):
        path: KeyPath = ("models", "routes", index)
        problem = route_violation(route, models, allowed)
        if problem is None and partition_of(route.region) != first_partition:
            problem = (
                f"partition {partition_of(route.region)} differs from the first route's "
                f"({first_partition}); fallback never crosses partitions"
            )
        if problem is not None:
            where = f"{locate(path)}: " if locate else ""
            raise ConfigError(f"{where}models.routes[{index}] ({route.name}): {problem}")
    for region, url in models.endpoints.items():
        problem = endpoint_violation(region, url, allowed)
        if problem is not None:
            where = f"{locate(('models', 'endpoints', region))}: " if locate else ""
            raise ConfigError(f"{where}models.endpoints.{region}: {problem}")


def endpoint_violation(region: str, url: str, allowed: frozenset[str]) -> str | None:
    """Why an endpoint override breaks residency: an unknown Region, a Region outside it, or an
    AWS host that names another Region (``bedrock-runtime.us-east-1...`` set for eu-west-1)."""
    if not is_known_region(region):
        return f"unknown Region {region!r}"
    if region not in allowed:
        return f"Region {region} is outside the residency"
    host = urlsplit(url).hostname or ""
    named = [part for part in host.split(".") if is_known_region(part)]
    if named and named != [region]:
        return f"endpoint {url} is in {named[0]}, not {region}; point it at {region}'s endpoint"
    return None


def _describe(residency: str | tuple[str, ...]) -> str:
    return residency if isinstance(residency, str) else "[" + ", ".join(residency) + "]"
