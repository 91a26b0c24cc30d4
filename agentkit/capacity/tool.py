"""The ``capacity_plan`` tool: an agent's capacity configuration in, per-Region peak RPM, TPM
and TPD with headroom against each quota out (the contract is ``tools/capacity_plan/v1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentkit.capacity.config import CapacityConfig
from agentkit.capacity.load import load_capacity
from agentkit.capacity.model import compute_capacity
from agentkit.capacity.report import to_json
from agentkit.errors import UserError

MODEL_FIELDS = (
    "call_duration_s",
    "calls_per_thread",
    "rpm",
    "tpm_raw",
    "tpm_settled",
    "tpm_admission",
    "burndown",
)


def check_request(payload: dict[str, Any]) -> list[str]:
    """Exactly one source, and a configuration the calculator accepts (one line naming the key)."""
    given = [k for k in ("config_path", "capacity") if k in payload]
    if len(given) != 1:
        return ["give config_path or capacity (exactly one of them)"]
    try:
        _settings(payload)
    except UserError as error:
        return [str(error)]
    return []


def _settings(payload: dict[str, Any]) -> CapacityConfig:
    if "config_path" in payload:
        return load_capacity(Path(payload["config_path"]))
    try:
        return CapacityConfig.model_validate(payload["capacity"])
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "capacity"
        raise UserError(f"capacity.{where}: {first['msg']}") from None


def plan(payload: dict[str, Any]) -> dict[str, Any]:
    report = to_json(compute_capacity(_settings(payload)))
    model = report["model"]
    peak = report["peak_factor"]
    regions = []
    for name, region in report["regions"].items():
        load = peak * region["share"]
        regions.append(
            {
                "region": name,
                **region,
                "rpm": _round(load * model["rpm"]),
                "tpm_settled": _round(load * model["tpm_settled"]),
                "tpm_admission": _round(load * model["tpm_admission"]),
            }
        )
    n1 = report["n_plus_one"]
    return {
        "regions": regions,
        "model": {k: model[k] for k in MODEL_FIELDS},
        "n_plus_one": {
            k: n1[k]
            for k in ("lost_region", "surviving_tpm", "peak_tpm_settled", "peak_tpm_admission")
        }
        | {"ok": n1["ok"]},
        "endpoint": report["endpoint"],
        "peak_factor": peak,
        "safety_margin": report["safety_margin"],
        "ok": report["ok"],
        "warnings": report["warnings"],
    }


def _round(value: float) -> float:
    rounded = round(float(value), 4)
    return int(rounded) if rounded.is_integer() else rounded
