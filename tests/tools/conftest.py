from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REQUEST = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "rto_minutes": {"type": "number", "exclusiveMinimum": 0},
        "region": {"type": "string", "minLength": 1},
    },
    "required": ["rto_minutes", "region"],
    "additionalProperties": False,
}
RESPONSE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"strategy": {"enum": ["pilot_light", "warm_standby"]}},
    "required": ["strategy"],
}


def write_tool(
    root: Path,
    name: str,
    version: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    **manifest: Any,
) -> Path:
    folder = root / name / f"v{version.split('.', maxsplit=1)[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "name": name,
                "version": version,
                "description": f"{name} tool",
                "side_effect": "read_only",
                **manifest,
            }
        )
    )
    (folder / "request.schema.json").write_text(json.dumps(request or REQUEST))
    (folder / "response.schema.json").write_text(json.dumps(response or RESPONSE))
    return folder
