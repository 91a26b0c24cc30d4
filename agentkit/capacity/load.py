"""Find the ``capacity:`` section the ``agentkit capacity`` command works on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agentkit.capacity.config import CapacityConfig
from agentkit.errors import ConfigError

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig

HOW_TO_FIX = "add a capacity: section (examples/capacity.yaml shows every key)"


def load_capacity(path: Path | None = None) -> CapacityConfig:
    """The capacity section of ``path``, or of ``./agentkit.yaml`` when no path is given.

    Raises :class:`ConfigError` (one line, exit 2) when there is no file or no section.
    """
    return load_with_limits(path)[0]


def load_with_limits(path: Path | None = None) -> tuple[CapacityConfig, int]:
    """The capacity section and the run token budget (``limits.run_token_budget``) of the file."""
    config, _ = load_with_source(path)
    assert config.capacity is not None  # load_with_source refuses a file without one
    return config.capacity, config.limits.run_token_budget


def load_with_source(path: Path | None = None) -> tuple[AgentkitConfig, Path]:
    """The whole configuration (it has a capacity section) and the file it came from."""
    from agentkit.config import DEFAULT_CONFIG_NAME, load_config

    source = path if path is not None else Path(DEFAULT_CONFIG_NAME)
    if path is None and not source.exists():
        raise ConfigError(
            f"no {DEFAULT_CONFIG_NAME} in the current directory: pass -c FILE, or {HOW_TO_FIX}"
        )
    config = load_config(source, check_residency=False)
    if config.capacity is None:
        raise ConfigError(f"{source}: no capacity: section; {HOW_TO_FIX}")
    return config, source
