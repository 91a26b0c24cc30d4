"""Residency: the one place that decides whether a route may be used.

A route is (model or inference profile, Region). It is allowed when its Region is known and
inside ``models.residency`` (a geography such as ``us`` or ``eu``, or a list of Regions and
geographies), when every Region its inference profile can route to is inside it too, when a
``global.`` profile is explicitly allowed, and when it shares the first route's partition.
"""

from __future__ import annotations

from collections.abc import Callable

from agentkit.config import ModelsConfig, Route
from agentkit.errors import ConfigError
from agentkit.regions import (
    is_known_region,
    partition_of,
    profile_destinations,
    profile_geography,
    regions_in_geography,
)
from agentkit.yamlsource import KeyPath

Locate = Callable[[KeyPath], str]


def allowed_regions(residency: str | tuple[str, ...]) -> frozenset[str]:
    """Every Region the residency setting allows."""
    entries = (residency,) if isinstance(residency, str) else residency
    allowed: set[str] = set()
    for entry in entries:
        members = regions_in_geography(entry)
        if members:
            allowed.update(members)
        elif is_known_region(entry):
            allowed.add(entry)
        else:
            raise ConfigError(
                f"models.residency: {entry!r} is neither a geography (us, eu, apac, jp, au, ...) "
                "nor a known Region"
            )
    return frozenset(allowed)


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
        destinations = set(profile_destinations(route.model))
        if route.region not in destinations:
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
    for region in models.endpoints:
        if not is_known_region(region):
            where = f"{locate(('models', 'endpoints', region))}: " if locate else ""
            raise ConfigError(f"{where}models.endpoints: unknown Region {region!r}")


def _describe(residency: str | tuple[str, ...]) -> str:
    return residency if isinstance(residency, str) else "[" + ", ".join(residency) + "]"
