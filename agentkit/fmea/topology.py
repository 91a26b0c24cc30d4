"""What the topology makes possible: the predicates of a catalogue's ``applies``, Regions,
partitions and residency, read from the architecture and agentkit's one table of Regions.

Residency uses the same geography and inference-profile data as the DR advisor
(:mod:`agentkit.regions`): a profile is allowed only when its destinations *from the Region it is
called in* stay inside the residency; a prefix alone proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.fmea.model import Architecture
from agentkit.regions import (
    GLOBAL_PROFILE,
    partition_of,
    profile_destinations,
    profile_geography,
    residency_regions,
)

# Kinds that hold a model call or an agent turn: what a front door's timeout waits for.
MODEL_KINDS = frozenset(
    {"bedrock-model", "bedrock-cris", "bedrock-agent", "agentcore-runtime", "agent-orchestration"}
)
# Kinds billed per token on demand unless they say `provisioned_throughput: true`.
ON_DEMAND_KINDS = frozenset({"bedrock-model", "bedrock-cris", "bedrock-agent", "agentcore-runtime"})
# Front doors with a fixed upstream timeout (API Gateway 29 s, ALB idle 60 s, CloudFront 30 s).
FRONT_KINDS = frozenset({"apigateway", "alb", "cloudfront"})


@dataclass(frozen=True)
class Topology:
    architecture: Architecture
    dependents: dict[str, int]
    kinds: frozenset[str]
    workload_regions: tuple[str, ...]
    partitions: tuple[str, ...]
    residency: frozenset[str] | None
    behind_front: frozenset[str]
    fronts_model: frozenset[str]
    on_demand: bool

    def regions_of(self, component: dict[str, Any]) -> list[str]:
        return list(component.get("regions", self.architecture.data.get("regions", [])))


def build(architecture: Architecture, dependents: dict[str, int]) -> Topology:
    components = architecture.components
    depends_on = {c["id"]: list(c.get("depends_on", [])) for c in components}
    kind_of = {c["id"]: c["kind"] for c in components}
    regions: dict[str, None] = dict.fromkeys(architecture.data.get("regions", []))
    for component in components:
        for key in ("regions", "replicas", "writers"):
            regions.update(dict.fromkeys(component.get(key, [])))
    reaches_model: dict[str, bool] = {}
    for cid in _dependencies_first(depends_on):
        reaches_model[cid] = kind_of[cid] in MODEL_KINDS or any(
            reaches_model[d] for d in depends_on[cid]
        )
    fronts = [c["id"] for c in components if c["kind"] in FRONT_KINDS]
    behind: set[str] = set()
    pending = [d for f in fronts for d in depends_on[f]]
    while pending:  # everything a front door waits for, directly or not
        cid = pending.pop()
        if cid not in behind:
            behind.add(cid)
            pending.extend(depends_on[cid])
    residency = architecture.workload.get("residency") or []
    return Topology(
        architecture=architecture,
        dependents=dependents,
        kinds=frozenset(kind_of.values()),
        workload_regions=tuple(regions),
        partitions=tuple(sorted({partition_of(r) for r in regions})),
        residency=residency_regions(residency) if residency else None,
        behind_front=frozenset(behind),
        fronts_model=frozenset(f for f in fronts if reaches_model[f]),
        on_demand=any(
            c["kind"] in ON_DEMAND_KINDS and c.get("provisioned_throughput") is not True
            for c in components
        ),
    )


def _dependencies_first(depends_on: dict[str, list[str]]) -> list[str]:
    """Every component after the ones it depends on (the graph was checked for cycles)."""
    waiting = {cid: len(set(targets)) for cid, targets in depends_on.items()}
    users: dict[str, list[str]] = {cid: [] for cid in depends_on}
    for cid, targets in depends_on.items():
        for target in set(targets):
            users[target].append(cid)
    order = [cid for cid, count in waiting.items() if count == 0]
    for cid in order:  # grows while it is walked
        for user in users[cid]:
            waiting[user] -= 1
            if waiting[user] == 0:
                order.append(user)
    return order


def attribute(component: dict[str, Any], name: str) -> Any:
    if name in component:
        return component[name]
    return (component.get("attributes") or {}).get(name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def model_id(component: dict[str, Any]) -> str:
    """The model or inference profile the component calls (``profile``, or ``model``)."""
    return str(component.get("profile") or component.get("model") or "")


def _single_destination(component: dict[str, Any], topology: Topology) -> bool:
    profile = model_id(component)
    geography = profile_geography(profile)
    sources = topology.regions_of(component)
    if geography in (None, GLOBAL_PROFILE) or not sources:
        return False
    return all(len(profile_destinations(profile, partition_of(s), source=s)) == 1 for s in sources)


_PREDICATES: dict[str, Callable[[dict[str, Any], Topology], bool]] = {
    "single_region": lambda c, t: len(t.regions_of(c)) <= 1,
    "multi_region": lambda c, t: len(set(t.regions_of(c))) >= 2,
    "workload_multi_region": lambda c, t: len(t.workload_regions) >= 2,
    "multi_region_writers": lambda c, t: len(set(c.get("writers", []))) >= 2,
    "multi_partition": lambda c, t: len(t.partitions) >= 2,
    "single_az": lambda c, t: not c.get("multi_az"),
    "multi_az": lambda c, t: bool(c.get("multi_az")),
    "residency": lambda c, t: t.residency is not None,
    "has_dependents": lambda c, t: t.dependents.get(c["id"], 0) > 0,
    "behind_upstream_timeout": lambda c, t: c["id"] in t.behind_front or "upstream_timeout_s" in c,
    "fronts_model": lambda c, t: c["id"] in t.fronts_model,
    "side_effects": lambda c, t: c.get("side_effects") is True,
    "human_approval": lambda c, t: c.get("human_approval") is True,
    "untrusted_content": lambda c, t: c.get("untrusted_content") is True,
    "global_profile": lambda c, t: profile_geography(model_id(c)) == GLOBAL_PROFILE,
    "single_destination_profile": _single_destination,
    "has_orchestration": lambda c, t: "agent-orchestration" in t.kinds,
    "no_observability": lambda c, t: "observability" not in t.kinds,
    "on_demand_models": lambda c, t: t.on_demand,
}


def holds(condition: str, component: dict[str, Any], topology: Topology) -> bool:
    """Whether one ``applies`` condition holds for the component."""
    negate = condition.startswith("not:")
    name = condition[4:] if negate else condition
    if name.startswith("attr:"):
        value = attribute(component, name[5:])
        result = value is not None and value is not False and value != ""
    elif "=" in name:
        key, _, wanted = name.partition("=")
        value = attribute(component, key)
        result = value is not None and _text(value) == wanted.lower()
    else:
        result = _PREDICATES[name](component, topology)
    return result != negate


def residency_breaches(
    component: dict[str, Any], topology: Topology, skip_global: bool
) -> list[str]:
    """Why the component's data may leave the residency: one phrase per reason, none if it stays.

    Its Regions, replica and writer Regions, and for a model or profile ID the destinations of
    the profile from each Region it is called in (``skip_global``: a ``global.`` profile already
    has its own row)."""
    allowed = topology.residency
    if allowed is None:
        return []
    found: list[str] = []
    regions = topology.regions_of(component)
    for key, label in (
        ("regions", "Region"),
        ("replicas", "replica Region"),
        ("writers", "writer Region"),
    ):
        places = regions if key == "regions" else list(component.get(key, []))
        outside = sorted(set(places) - allowed)
        if outside:
            found.append(f"{label}{'s' if len(outside) > 1 else ''} {', '.join(outside)}")
    profile = model_id(component)
    geography = profile_geography(profile)
    if geography is None or (geography == GLOBAL_PROFILE and skip_global):
        return found
    for source in regions or list(topology.workload_regions):
        destinations = profile_destinations(profile, partition_of(source), source=source)
        note = ""
        if not destinations:  # cannot be called there: it is called from where it can be
            destinations = profile_destinations(profile, partition_of(source))
            note = f" (not callable from {source}: it runs in its own geography)"
        outside = sorted(set(destinations) - allowed)
        if outside:
            found.append(
                f"{geography}. profile called from {source} may process in "
                f"{', '.join(outside)}{note}"
            )
    return found


def partitions_of(component: dict[str, Any], topology: Topology) -> list[str]:
    if len(topology.partitions) <= 1:
        return list(topology.partitions)  # every Region of the workload is in one partition
    regions = set(topology.regions_of(component))
    regions.update(component.get("replicas", []), component.get("writers", []))
    return sorted({partition_of(r) for r in regions})
