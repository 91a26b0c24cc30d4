"""AWS Regions, partitions, residency geographies and cross-Region inference destinations.

The one table of Region facts in agentkit: residency checks, the DR advisor, the capacity
calculator and the emulator's CRIS routing all read it. Sources: AWS SDK partition metadata
(partitions, including ``aws-eusc`` for the European Sovereign Cloud) and the Bedrock
cross-Region inference documentation (profile destinations; see ``shared/design/bedrock-wire.md``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from agentkit.errors import UserError

# Residency geographies: where data may be processed or stored.
GEOGRAPHIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
        "ca": ("ca-central-1", "ca-west-1"),
        "sa": ("sa-east-1",),
        "mx": ("mx-central-1",),
        "eu": (
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
        ),
        "apac": (
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
        ),
        "jp": ("ap-northeast-1", "ap-northeast-3"),
        "au": ("ap-southeast-2", "ap-southeast-4"),
        "me": ("il-central-1", "me-central-1", "me-south-1"),
        "af": ("af-south-1",),
        "us-gov": ("us-gov-east-1", "us-gov-west-1"),
        "cn": ("cn-north-1", "cn-northwest-1"),
        "eusc": ("eusc-de-east-1",),
    }
)

# Where a geographic inference profile (``us.anthropic...``) may route a request.
# The APAC profile is not the APAC geography: it leaves out ap-east-1 and reaches me-central-1.
PROFILE_DESTINATIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "us": ("us-east-1", "us-east-2", "us-west-2"),
        "eu": GEOGRAPHIES["eu"],
        "apac": tuple(sorted({*GEOGRAPHIES["apac"], "me-central-1"} - {"ap-east-1"})),
        "jp": GEOGRAPHIES["jp"],
        "au": GEOGRAPHIES["au"],
        "us-gov": GEOGRAPHIES["us-gov"],
    }
)
GLOBAL_PROFILE = "global"

_PARTITION_BY_GEOGRAPHY = {"us-gov": "aws-us-gov", "cn": "aws-cn", "eusc": "aws-eusc"}
_MEMBER_OF_SUBSETS = ("jp", "au")  # geographies that are subsets of another; not a Region's home

REGIONS: frozenset[str] = frozenset(r for members in GEOGRAPHIES.values() for r in members)


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
    """The residency geography a Region belongs to (``eu`` for eu-west-1)."""
    for geography, members in GEOGRAPHIES.items():
        if geography not in _MEMBER_OF_SUBSETS and region in members:
            return geography
    return None


def partition_of(region: str) -> str:
    """``aws``, ``aws-us-gov``, ``aws-cn`` or ``aws-eusc``: fallback and replication never cross."""
    return _PARTITION_BY_GEOGRAPHY.get(geography_of(region) or "", "aws")


def partition_regions(partition: str) -> tuple[str, ...]:
    return tuple(sorted(r for r in REGIONS if partition_of(r) == partition))


def regions_in_geography(geography: str) -> tuple[str, ...]:
    """The Regions of a residency geography; empty for an unknown name."""
    return GEOGRAPHIES.get(geography.lower(), ())


def profile_geography(model_id: str) -> str | None:
    """``us`` for ``us.anthropic...``, ``global`` for ``global....``, None for a plain model ID.

    Inference-profile ARNs are recognised by their last path segment.
    """
    name = model_id.rsplit("/", 1)[-1]
    prefix, dot, rest = name.partition(".")
    if not dot or not rest:
        return None
    if prefix == GLOBAL_PROFILE or prefix in PROFILE_DESTINATIONS:
        return prefix
    return None


def profile_destinations(model_id: str, partition: str = "aws") -> tuple[str, ...]:
    """Every Region a call with this model or profile ID may be processed in (empty for a plain
    model ID: it is processed where it is called)."""
    geography = profile_geography(model_id)
    if geography == GLOBAL_PROFILE:
        return partition_regions(partition)
    return PROFILE_DESTINATIONS.get(geography or "", ())


# --- partitions and membership ----------------------------------------------------------------

PARTITIONS: tuple[str, ...] = ("aws", "aws-us-gov", "aws-cn", "aws-eusc")

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
