"""The Region table: partitions, commercial Regions, geography membership, endpoint kinds."""

from __future__ import annotations

import pytest

from agentkit.regions import (
    COMMERCIAL_REGIONS,
    GEOGRAPHIES,
    PARTITIONS,
    PROFILE_DESTINATIONS,
    REGIONS,
    endpoint_kind,
    in_geography,
    partition_of,
    partition_regions,
    profile_destinations,
    same_partition,
)


def test_every_region_is_in_exactly_one_known_partition() -> None:
    assert {partition_of(r) for r in REGIONS} == set(PARTITIONS)
    assert sum(len(partition_regions(p)) for p in PARTITIONS) == len(REGIONS)


def test_commercial_regions() -> None:
    assert tuple(sorted(COMMERCIAL_REGIONS)) == COMMERCIAL_REGIONS
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "me-central-1"} <= set(COMMERCIAL_REGIONS)
    assert not {"us-gov-west-1", "cn-north-1", "eusc-de-east-1"} & set(COMMERCIAL_REGIONS)
    assert all(partition_of(r) == "aws" for r in COMMERCIAL_REGIONS)


@pytest.mark.parametrize(
    ("region", "geography", "member"),
    [
        ("eu-west-1", "eu", True),
        ("eu-west-1", "EU", True),
        ("eu-west-1", "us", False),
        ("ap-northeast-1", "apac", True),
        ("ap-northeast-1", "jp", True),
        ("ap-southeast-2", "au", True),
        ("ap-southeast-2", "jp", False),
        ("us-east-1", "nowhere", False),
    ],
)
def test_geography_membership(region: str, geography: str, member: bool) -> None:
    assert in_geography(region, geography) is member


def test_same_partition() -> None:
    assert same_partition()
    assert same_partition("us-east-1")
    assert same_partition("us-east-1", "eu-west-1", "ap-south-1")
    assert not same_partition("us-east-1", "us-gov-west-1")
    assert not same_partition("eu-central-1", "eusc-de-east-1")


@pytest.mark.parametrize(
    ("model_id", "kind"),
    [
        ("anthropic.claude-sonnet-4-20250514-v1:0", "in-region"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "geo-cris"),
        ("apac.amazon.nova-pro-v1:0", "geo-cris"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "global-cris"),
        ("arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-pro-v1:0", "geo-cris"),
    ],
)
def test_endpoint_kind(model_id: str, kind: str) -> None:
    assert endpoint_kind(model_id) == kind


def test_profile_destinations_stay_in_one_partition() -> None:
    for geography in PROFILE_DESTINATIONS:
        destinations = profile_destinations(f"{geography}.model")
        assert destinations
        assert same_partition(*destinations)
    assert profile_destinations("global.m") == COMMERCIAL_REGIONS


def test_geography_tables_hold_known_regions_only() -> None:
    for members in (*GEOGRAPHIES.values(), *PROFILE_DESTINATIONS.values()):
        assert set(members) <= REGIONS
