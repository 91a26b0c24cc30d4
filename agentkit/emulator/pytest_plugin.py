"""pytest plugin: the ``bedrock_emulator`` fixture.

Installed with agentkit (entry point ``pytest11``). Each test that asks for the fixture gets a
fresh emulator on free loopback ports, stopped when the test ends::

    @pytest.mark.emulator(regions=["us-east-1", "us-west-2"])
    def test_failover(bedrock_emulator):
        bedrock_emulator.set_faults({"regions": {"us-east-1": {"down": True}}})
        client = bedrock_emulator.client("us-west-2")
        ...
        assert [c.region for c in bedrock_emulator.calls()] == ["us-west-2"]

The marker's keyword arguments go to :class:`agentkit.emulator.Emulator` (``regions``, ``plan``,
``responder``, ``guardrails``, ``clock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentkit.emulator.server import Emulator

DEFAULT_REGIONS = ("us-east-1", "us-west-2", "us-east-2")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator(regions=..., **options): options for the bedrock_emulator fixture"
    )


@pytest.fixture
def bedrock_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    from agentkit.emulator.server import Emulator

    marker = request.node.get_closest_marker("emulator")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    regions = list(options.pop("regions", DEFAULT_REGIONS))
    emulator = Emulator(regions, **options).start()
    try:
        yield emulator
    finally:
        emulator.stop()
