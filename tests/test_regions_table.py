from __future__ import annotations

import pytest

from agentkit.errors import InputError
from agentkit.regions import (
    geography_of,
    partition_of,
    profile_destinations,
    profile_geography,
    regions_in_geography,
    require_known_region,
)


@pytest.mark.parametrize(
    ("region", "partition", "geography"),
    [
        ("us-east-1", "aws", "us"),
        ("eu-west-1", "aws", "eu"),
        ("ap-northeast-1", "aws", "apac"),
        ("us-gov-west-1", "aws-us-gov", "us-gov"),
        ("cn-north-1", "aws-cn", "cn"),
        ("eusc-de-east-1", "aws-eusc", "eusc"),
        ("me-central-1", "aws", "me"),
    ],
)
def test_partition_and_geography(region: str, partition: str, geography: str) -> None:
    assert partition_of(region) == partition
    assert geography_of(region) == geography


def test_profile_prefixes_and_destinations() -> None:
    assert profile_geography("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == "us"
    assert profile_geography("anthropic.claude-3-haiku-20240307-v1:0") is None
    assert (
        profile_geography("arn:aws:bedrock:eu-west-1:1:inference-profile/eu.amazon.nova-pro-v1:0")
        == "eu"
    )
    assert profile_destinations("us.x") == ("us-east-1", "us-east-2", "us-west-2")
    assert "me-central-1" in profile_destinations("apac.x")
    assert "ap-east-1" not in profile_destinations("apac.x")
    assert "ap-east-1" in regions_in_geography("apac")
    assert profile_destinations("jp.x") == ("ap-northeast-1", "ap-northeast-3")
    assert set(profile_destinations("global.x")) >= {"us-east-1", "eu-west-1", "ap-south-1"}
    assert not {"us-gov-west-1", "cn-north-1"} & set(profile_destinations("global.x"))
    assert profile_destinations("amazon.nova-pro-v1:0") == ()


def test_unknown_region_suggests_the_closest() -> None:
    with pytest.raises(InputError, match="unknown Region 'eu-west-11'; did you mean eu-west-1"):
        require_known_region("eu-west-11", InputError)
    with pytest.raises(InputError, match=r"^unknown Region 'mars-north-1'$"):
        require_known_region("mars-north-1", InputError)
