"""Residency geographies, country names and inference-profile destinations by source Region.

Expected values come from shared/design/domain.md 1.2b; the table they test is
agentkit/data/geographies-v1.json, which names its sources.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.regions import (
    GEOGRAPHIES,
    REGIONS,
    geography_of,
    geography_token,
    partition_of,
    profile_destinations,
    profile_for,
    profile_geography,
    residency_regions,
)

EU = {"eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2"}
TABLE = Path(__file__).resolve().parents[1] / "agentkit" / "data" / "geographies-v1.json"

# Every token of domain.md 1.2b with its members.
EXPECTED = {
    "eu": EU,
    "eea": EU,
    "uk": {"eu-west-2"},
    "ch": {"eu-central-2"},
    "europe": EU | {"eu-west-2", "eu-central-2"},
    "us": {"us-east-1", "us-east-2", "us-west-1", "us-west-2"},
    "us-gov": {"us-gov-east-1", "us-gov-west-1"},
    "cn": {"cn-north-1", "cn-northwest-1"},
    "eusc": {"eusc-de-east-1"},
    "ca": {"ca-central-1", "ca-west-1"},
    "jp": {"ap-northeast-1", "ap-northeast-3"},
    "au": {"ap-southeast-2", "ap-southeast-4"},
    "in": {"ap-south-1", "ap-south-2"},
    "kr": {"ap-northeast-2"},
    "sg": {"ap-southeast-1"},
    "nz": {"ap-southeast-6"},
    "tw": {"ap-east-2"},
    "mx": {"mx-central-1"},
    "th": {"ap-southeast-7"},
    "my": {"ap-southeast-5"},
    "id": {"ap-southeast-3"},
    "il": {"il-central-1"},
    "ae": {"me-central-1"},
    "bh": {"me-south-1"},
    "za": {"af-south-1"},
    "br": {"sa-east-1"},
    "hk": {"ap-east-1"},
}


@pytest.mark.parametrize(("token", "members"), sorted(EXPECTED.items()))
def test_every_geography_of_the_domain_table(token: str, members: set[str]) -> None:
    assert set(GEOGRAPHIES[token]) == members


def test_the_eu_holds_neither_london_nor_zurich() -> None:
    for token in ("eu", "eea", "european union", "EU", "the EU"):
        allowed = residency_regions([token])
        assert allowed is not None
        assert not {"eu-west-2", "eu-central-2"} & allowed, token


def test_apac_is_as_aws_lists_it_and_china_is_not_hong_kong() -> None:
    assert "ap-east-1" in GEOGRAPHIES["apac"]
    assert "ap-east-1" not in GEOGRAPHIES["cn"]


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("Germany", "de"),
        ("France", "fr"),
        ("Ireland", "ie"),
        ("the EEA", "eea"),
        ("European Union", "eu"),
        ("Switzerland", "ch"),
        ("United Kingdom", "uk"),
        ("Japan", "jp"),
        ("  india ", "in"),
        ("European Sovereign Cloud", "eusc"),
        ("GovCloud", "us-gov"),
        ("Europe", "europe"),
    ],
)
def test_country_names_map_to_tokens(name: str, token: str) -> None:
    assert geography_token(name) == token


def test_germany_is_frankfurt_and_the_sovereign_cloud() -> None:
    assert residency_regions(["Germany"]) == {"eu-central-1", "eusc-de-east-1"}


def test_unreadable_residency_names_the_token_and_what_is_accepted() -> None:
    with pytest.raises(UserError, match=r"residency 'Narnia' is not .* use one of eu, eea"):
        residency_regions(["eu", "Narnia"])


def test_empty_residency_is_no_constraint_and_regions_are_accepted() -> None:
    assert residency_regions([]) is None
    assert residency_regions(["eusc-de-east-1", "uk"]) == {"eusc-de-east-1", "eu-west-2"}


def test_partitions_come_from_the_sdk_metadata() -> None:
    import botocore

    path = Path(botocore.__file__).parent / "data" / "partitions.json"
    sdk = json.loads(path.read_text())
    for partition in sdk["partitions"]:
        for region in partition["regions"]:
            if not region.endswith("-global"):
                assert partition_of(region) == partition["id"]
    assert partition_of("eusc-de-east-1") == "aws-eusc"
    assert partition_of("eu-isoe-west-1") == "aws-iso-e"


def test_every_table_region_is_a_known_region_and_the_table_names_its_sources() -> None:
    table = json.loads(TABLE.read_text())
    assert set(table["sources"]) == {"partitions", "geographies", "profiles"}
    assert table["read"]
    for members in GEOGRAPHIES.values():
        assert set(members) <= REGIONS


def test_geography_is_data_not_a_prefix() -> None:
    assert geography_of("eu-west-2") == "uk"
    assert geography_of("eu-central-2") == "ch"
    assert geography_of("eu-west-1") == "eu"
    assert geography_of("il-central-1") == "me"


@pytest.mark.parametrize(
    ("profile", "source", "destinations"),
    [
        ("eu.m", "eu-west-1", EU),
        ("eu.m", "eu-west-2", EU),  # London is a source of eu., never a destination here
        ("eu.m", "eu-central-2", EU),
        ("eu.m", "us-east-1", set()),
        ("us.m", "ca-central-1", {"us-east-1", "us-east-2", "us-west-2"}),
        ("ca.m", "ca-central-1", {"ca-central-1", "ca-west-1"}),
        ("jp.m", "ap-northeast-3", {"ap-northeast-1", "ap-northeast-3"}),
        ("us-gov.m", "us-gov-east-1", {"us-gov-west-1"}),
    ],
)
def test_profile_destinations_depend_on_the_source(
    profile: str, source: str, destinations: set[str]
) -> None:
    assert set(profile_destinations(profile, source=source)) == destinations


@pytest.mark.parametrize(
    ("source", "residency", "prefix"),
    [
        ("eu-west-1", "eu", "eu"),
        ("eu-west-2", "uk", None),  # eu. from London leaves the UK
        ("eu-west-2", "europe", "eu"),
        ("eu-central-2", "ch", None),
        ("ap-northeast-1", "jp", "jp"),
        ("ap-northeast-1", None, "jp"),  # the narrowest profile that stays redundant
        ("ap-southeast-2", "au", "au"),
        ("ca-central-1", "ca", "ca"),
        ("ap-south-1", "in", None),
        ("me-central-1", "ae", None),
        ("il-central-1", "il", None),
        ("us-east-1", "us", "us"),
        ("us-gov-east-1", "us-gov", None),  # one destination: no redundancy
    ],
)
def test_profile_for_a_source_and_residency(
    source: str, residency: str | None, prefix: str | None
) -> None:
    allowed = residency_regions([residency]) if residency else None
    assert profile_for(source, allowed) == prefix


@pytest.mark.parametrize("model", ["GLOBAL.anthropic.m", " global.anthropic.m", "Global.x"])
def test_global_profile_is_recognised_whatever_the_spelling(model: str) -> None:
    assert profile_geography(model) == "global"
