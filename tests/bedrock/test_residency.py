"""Residency is a hard boundary: routes outside it are refused at load."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.config import ModelsConfig
from agentkit.errors import ConfigError
from agentkit.residency import check_routes

SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def models(residency: Any, *routes: tuple[str, str], allow_global: bool = False) -> ModelsConfig:
    return ModelsConfig(
        residency=residency,
        allow_global_profiles=allow_global,
        routes=tuple({"model": m, "region": r} for m, r in routes),
    )  # type: ignore[misc]


@pytest.mark.parametrize(
    "config",
    [
        models(
            "us",
            (f"us.{SONNET}", "us-east-1"),
            (f"us.{SONNET}", "us-west-2"),
            (SONNET, "us-east-2"),
        ),
        models("eu", (f"eu.{SONNET}", "eu-west-1"), (SONNET, "eu-central-1")),
        models(("eu-west-1", "eu-central-1"), (SONNET, "eu-west-1"), (SONNET, "eu-central-1")),
        models("us", (f"global.{SONNET}", "us-east-1"), allow_global=True),
    ],
    ids=["us-geo", "eu-geo", "eu-region-list", "global-allowed"],
)
def test_allowed_chains(config: ModelsConfig) -> None:
    check_routes(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            models("eu", (SONNET, "eu-west-1"), (SONNET, "us-east-1")),
            r"routes\[1\] .*Region us-east-1 is outside residency eu",
        ),
        (models("us", (f"global.{SONNET}", "us-east-1")), r"routes\[0\] .*allow_global_profiles"),
        (
            models(("eu-west-1", "eu-central-1"), (f"eu.{SONNET}", "eu-west-1")),
            r"routes\[0\] .*the eu\. profile may route to .*outside residency",
        ),
        (models("us", (f"eu.{SONNET}", "us-east-1")), r"cannot be called in us-east-1"),
        (
            models(
                ("us-east-1", "us-gov-west-1"), (SONNET, "us-east-1"), (SONNET, "us-gov-west-1")
            ),
            r"routes\[1\] .*partition aws-us-gov differs",
        ),
        (models("us", (SONNET, "us-moon-1")), r"unknown Region 'us-moon-1'"),
        (models("narnia", (SONNET, "us-east-1")), r"models.residency 'narnia' is not a geography"),
    ],
    ids=[
        "outside-geo",
        "global-not-allowed",
        "profile-leaves-region-list",
        "profile-wrong-geo",
        "cross-partition",
        "unknown-region",
        "unknown-residency",
    ],
)
def test_refused_chains_name_the_route(config: ModelsConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_routes(config)


@pytest.mark.parametrize(
    ("model", "residency", "message"),
    [
        (f"GLOBAL.{SONNET}", "us", "global. inference profiles route worldwide"),
        (f" global.{SONNET}", "us", "global. inference profiles route worldwide"),
        (f"eu.{SONNET}", "uk", "outside residency"),  # London is not in the EU
        (f"us.{SONNET}", "ca", "outside residency"),  # us. from Canada routes to the US
    ],
)
def test_profiles_are_judged_by_their_destinations_from_the_source(
    model: str, residency: str, message: str
) -> None:
    region = {"us": "us-east-1", "uk": "eu-west-2", "ca": "ca-central-1"}[residency]
    with pytest.raises(ConfigError, match=message):
        check_routes(models(residency, (model, region)))


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ({"eu-west-1": "https://bedrock-runtime.us-east-1.amazonaws.com"}, "is in us-east-1"),
        ({"us-east-1": "http://127.0.0.1:41001"}, "outside the residency"),
        ({"eu-west-9": "http://127.0.0.1:41001"}, "unknown Region"),
    ],
)
def test_endpoint_overrides_stay_inside_the_residency(
    endpoints: dict[str, str], message: str
) -> None:
    config = ModelsConfig(
        residency="eu", routes=({"model": SONNET, "region": "eu-west-1"},), endpoints=endpoints
    )  # type: ignore[misc]
    with pytest.raises(ConfigError, match=message):
        check_routes(config)


def test_a_matching_endpoint_override_is_accepted() -> None:
    config = ModelsConfig(
        residency="eu",
        routes=({"model": SONNET, "region": "eu-west-1"},),
        endpoints={"eu-west-1": "https://bedrock-runtime.eu-west-1.amazonaws.com"},
    )  # type: ignore[misc]
    check_routes(config)
