"""Where a workload may recover: residency, partition, the primary and the recovery Region.

domain.md 1.3 step 1 and 1.2b. Residency is checked wherever a Region is chosen: an explicit
primary outside it is an input error, an implicit primary is chosen inside it (and said so),
candidates outside it are refused with a note, and a Region of another partition is only ever an
out-of-band backup target, never the failover Region. Among the allowed Regions the recovery
Region is the one that offers what the workload uses (MRSC Region sets, Bedrock), then the
nearest; the answer says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.errors import UserError
from agentkit.regions import (
    GEOGRAPHIES,
    geography_of,
    geography_token,
    is_known_region,
    partition_of,
    partition_regions,
    profiles_from,
    residency_regions,
    unreadable_residency,
)

SERVICES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "data" / "services-v1.json").read_text(encoding="utf-8")
)
MRSC_SETS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in SERVICES["mrsc_sets"].items()}
_SUBSET_GEOGRAPHIES = ("jp", "au", "ca", "in")  # a country inside a wider geography


@dataclass(frozen=True)
class Needs:
    """What the recovery Region must offer for this workload."""

    mrsc: bool = False  # DynamoDB at RPO 0
    bedrock: bool = False


@dataclass
class Placement:
    primary: str
    primary_source: str  # "stated" or "default"
    allowed: frozenset[str] | None  # None: no residency constraint
    targets: list[str] = field(default_factory=list)  # in preference order
    excluded: list[dict[str, str]] = field(default_factory=list)
    out_of_band: list[dict[str, str]] = field(default_factory=list)  # other partitions
    considered: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def partition(self) -> str:
        return partition_of(self.primary)


def residency_problems(request: dict[str, Any]) -> list[str]:
    """Input errors about Regions and residency: unknown Regions, unreadable residency, and an
    explicit primary outside the residency."""
    problems = []
    regions = [request.get("primary_region"), *request.get("candidate_regions", [])]
    problems += [f"unknown Region {r!r}" for r in regions if r and not is_known_region(r)]
    unreadable = [e for e in request.get("residency", []) if not _readable(e)]
    problems += [unreadable_residency(e) for e in unreadable]
    primary = request.get("primary_region")
    if not unreadable and primary and is_known_region(primary):
        allowed = residency_regions(request.get("residency", []))
        if allowed is not None and primary not in allowed:
            problems.append(
                f"primary Region {primary} is outside the residency "
                f"({', '.join(request['residency'])}: {', '.join(sorted(allowed))}); "
                "name a primary inside it or change the residency"
            )
    return problems


def _readable(entry: str) -> bool:
    try:
        residency_regions([entry])
    except UserError:
        return False
    return True


def default_primary(residency: list[str]) -> str:
    """us-east-1 without a residency; otherwise the first Region the first residency entry lists
    (each geography lists its Regions in a deliberate order), in the aws partition if it can."""
    listed = [r for entry in residency for r in _listed(entry)]
    if not listed:
        return "us-east-1"
    return next((r for r in listed if partition_of(r) == "aws"), listed[0])


def _listed(entry: str) -> tuple[str, ...]:
    token = geography_token(entry)
    if token:
        return GEOGRAPHIES[token]
    region = entry.strip().lower()
    return (region,) if is_known_region(region) else ()


def place(request: dict[str, Any], needs: Needs) -> Placement:
    """Residency, partition and recovery Regions for a request that passed
    :func:`residency_problems`."""
    residency = request.get("residency", [])
    allowed = residency_regions(residency)
    stated = request.get("primary_region")
    primary = stated or default_primary(residency)
    placement = Placement(primary, "stated" if stated else "default", allowed)
    if not stated:
        placement.notes.append(
            f"no primary Region given: assumed {primary}"
            + (f", inside the residency ({', '.join(residency)})" if residency else "")
        )
    partition = partition_of(primary)
    usable: list[str] = []
    for region in request.get("candidate_regions", []):
        if region == primary:
            continue
        if partition_of(region) != partition:
            placement.out_of_band.append(
                {
                    "region": region,
                    "reason": f"partition {partition_of(region)} differs from {partition}: "
                    "only an out-of-band backup target with its own approval, never the "
                    "failover Region",
                }
            )
        elif allowed is not None and region not in allowed:
            placement.excluded.append(
                {"region": region, "reason": f"outside the data residency ({', '.join(residency)})"}
            )
            placement.notes.append(f"refused {region}: it is outside the residency")
        else:
            usable.append(region)
    pool = usable or _partition_pool(primary, allowed)
    placement.targets, placement.considered = _rank(primary, pool, needs)
    if placement.targets:
        placement.reason = _why(primary, placement.targets[0], needs, bool(usable))
    return placement


def _partition_pool(primary: str, allowed: frozenset[str] | None) -> list[str]:
    pool = [r for r in partition_regions(partition_of(primary)) if r != primary]
    return [r for r in pool if allowed is None or r in allowed]


def missing_features(primary: str, region: str, needs: Needs) -> list[str]:
    """What ``region`` lacks of what the workload uses, as a recovery Region for ``primary``."""
    missing = []
    if needs.mrsc and not any(primary in s and region in s for s in MRSC_SETS.values()):
        missing.append("DynamoDB MRSC Region set shared with the primary")
    if needs.bedrock and not bedrock_offered(region):
        missing.append("Bedrock cross-Region inference (not in agentkit's profile table)")
    return missing


def bedrock_offered(region: str) -> bool:
    """Whether agentkit's profile table has ``region`` as a source of some geographic profile."""
    return bool(profiles_from(region))


def _distance(primary: str, region: str) -> tuple[bool, bool, bool, str]:
    """Nearest first: the same country inside a wider geography (jp, au, ca, in), then the same
    home geography (eu-west-1 prefers Paris to London: one jurisdiction), then the same area
    (``us-east``, ``ap-southeast``); ties by name, so the choice is stable."""
    subsets = [set(GEOGRAPHIES[g]) for g in _SUBSET_GEOGRAPHIES if primary in GEOGRAPHIES[g]]
    return (
        not any(region in subset for subset in subsets),
        geography_of(region) != geography_of(primary),
        region.rsplit("-", 1)[0] != primary.rsplit("-", 1)[0],
        region,
    )


def _rank(primary: str, pool: list[str], needs: Needs) -> tuple[list[str], list[dict[str, Any]]]:
    scored = sorted(
        (len(missing_features(primary, r, needs)), _distance(primary, r), r) for r in pool
    )
    considered = [
        {"region": r, "missing": missing_features(primary, r, needs)} for _, _, r in scored[:6]
    ]
    return [r for _, _, r in scored], considered


def _why(primary: str, target: str, needs: Needs, user_named: bool) -> str:
    offers = []
    if needs.mrsc:
        offers.append("shares a DynamoDB MRSC Region set with the primary")
    if needs.bedrock:
        offers.append("serves Bedrock cross-Region inference")
    missing = missing_features(primary, target, needs)
    source = "the candidate you named" if user_named else "the allowed Region"
    if missing:
        return (
            f"{target}: {source} nearest to {primary}; no allowed Region offers everything "
            f"the workload uses (missing: {'; '.join(missing)})"
        )
    what = f" that {' and '.join(offers)}" if offers else ""
    return f"{target}: {source}{what}, nearest to {primary}"
