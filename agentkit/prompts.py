"""Versioned prompt templates from the top-level ``prompts/`` folder.

A template is Markdown with a YAML front matter (``name``, ``version``, ``description``) and a
body with ``$placeholders`` (``string.Template``). The version goes on the spans of the steps
that use it, so a change in behaviour can be traced to a change in a prompt.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from agentkit.errors import ConfigError
from agentkit.paths import data_dir
from agentkit.yamlsource import load_yaml, parse_model

_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    version: str
    description: str


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    description: str
    body: str

    def render(self, **values: str) -> str:
        try:
            return string.Template(self.body).substitute(values)
        except KeyError as exc:
            raise ConfigError(
                f"prompt {self.name}@{self.version} needs a value for {exc}"
            ) from None

    def render_split(self, **values: str) -> tuple[str, str]:
        """``render`` cut where the first placeholder starts: the part that is the same on every
        call (a prompt cache prefix) and the rest; together they are exactly ``render``."""
        match = string.Template.pattern.search(self.body)
        cut = len(self.body) if match is None else match.start()
        head = Prompt(self.name, self.version, self.description, self.body[:cut])
        tail = Prompt(self.name, self.version, self.description, self.body[cut:])
        return head.render(**values), tail.render(**values)


@functools.lru_cache(maxsize=64)
def load_prompt(name: str, major: int = 1, root: Path | None = None) -> Prompt:
    """``load_prompt("dr_advisor.compose")`` reads ``prompts/dr_advisor/compose.v1.md``."""
    folder, _, stem = name.rpartition(".")
    path = (root or data_dir("prompts")) / folder / f"{stem}.v{major}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: prompt not found") from None
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise ConfigError(f"{path}:1: a prompt starts with a --- front matter block ---")
    meta = parse_model(_Meta, load_yaml(match.group("meta"), str(path), ConfigError), ConfigError)
    if meta.name != name:
        raise ConfigError(f"{path}: front matter name {meta.name!r} does not match {name!r}")
    return Prompt(meta.name, meta.version, meta.description, match.group("body"))
