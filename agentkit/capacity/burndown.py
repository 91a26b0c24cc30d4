"""The versioned table of output-token burndown rates, per model family.

Bedrock counts output tokens ``burndown`` times against a Region's tokens-per-minute quota (5x for
the Claude 4.x family, 1x for Nova, Llama and Claude 3/3.5; domain.md section 3.2). The rates live
in ``burndown-v1.yaml`` beside this module; a new rate or model family is a new table version, so
a capacity figure can always say which table it came from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agentkit.errors import ConfigError
from agentkit.yamlsource import parse_model, read_yaml

TABLE_VERSION = 1
TABLE_PATH = Path(__file__).with_name(f"burndown-v{TABLE_VERSION}.yaml")


class BurndownEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    match: str = Field(min_length=1)
    burndown: float = Field(ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    source: str = Field(min_length=1)


class BurndownTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    models: tuple[BurndownEntry, ...]

    def lookup(self, model_id: str) -> BurndownEntry | None:
        """The entry whose ``match`` is the longest prefix of the base model ID, or None.

        Profile prefixes (``us.``, ``global.``) and inference-profile ARNs are stripped first.
        """
        base = base_model_id(model_id)
        hits = [entry for entry in self.models if base.startswith(entry.match)]
        return max(hits, key=lambda entry: len(entry.match), default=None)


@dataclass(frozen=True)
class Burndown:
    """The burndown rate in use, and where it came from (the config, or a table row)."""

    rate: float
    source: str  # "config", or "burndown-v1: anthropic.claude-sonnet-4 (BURN, CWBLOG)"


def base_model_id(model_id: str) -> str:
    """``anthropic.claude-sonnet-4-...`` for ``us.anthropic.claude-sonnet-4-...`` or its ARN."""
    from agentkit.regions import profile_geography

    name = model_id.rsplit("/", 1)[-1]
    if profile_geography(name) is not None:
        return name.partition(".")[2]
    return name


@functools.cache
def default_table() -> BurndownTable:
    """The packaged table (read once)."""
    return parse_model(BurndownTable, read_yaml(TABLE_PATH, ConfigError), ConfigError)


def describe(entry: BurndownEntry, table: BurndownTable) -> str:
    return f"burndown-v{table.version}: {entry.match} ({entry.source})"
