"""agentkit: resilience-aware agents for Amazon Bedrock.

Heavy dependencies (pydantic, boto3, langgraph) load only when the names that need them are
used: ``import agentkit`` costs nothing, so ``agentkit --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit._version import __version__

if TYPE_CHECKING:
    from agentkit.bedrock.gateway import Gateway
    from agentkit.config import AgentkitConfig, load_config
    from agentkit.emulator import Emulator

__all__ = ["AgentkitConfig", "Emulator", "Gateway", "__version__", "load_config"]


def __getattr__(name: str) -> Any:
    if name in ("AgentkitConfig", "load_config"):
        from agentkit import config

        return getattr(config, name)
    if name == "Gateway":
        from agentkit.bedrock.gateway import Gateway

        return Gateway
    if name == "Emulator":
        from agentkit.emulator import Emulator

        return Emulator
    raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
