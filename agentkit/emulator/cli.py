"""``agentkit emulate``: run the emulator in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentkit.emulator.faults import FaultPlan, describe_plan_error
from agentkit.emulator.guardrails import GuardrailCatalog, GuardrailRegistry
from agentkit.emulator.knowledge import KnowledgeCatalog, KnowledgeCorpus
from agentkit.emulator.responder import Responder, Script
from agentkit.emulator.server import EmulatorServer
from agentkit.errors import InputError
from agentkit.yamlsource import describe_validation_error, read_yaml

M = TypeVar("M", bound=BaseModel)


def load_file(model: type[M], path: Path) -> M:
    """Parse a YAML or JSON file into ``model``; one line naming file, line and key on error."""
    doc = read_yaml(path, InputError)
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, doc)) from None


def parse_regions(text: str) -> list[str]:
    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise InputError("--regions: give at least one Region, e.g. --regions us-east-1,us-west-2")
    from agentkit.regions import require_known_region

    for region in regions:
        require_known_region(region, InputError)
    return regions


def serve(
    *,
    regions: str,
    faults: Path | None,
    scripts: Path | None,
    guardrails: Path | None,
    host: str,
    port: int,
    json_output: bool,
    knowledge: Path | None = None,
) -> None:
    emulated = parse_regions(regions)
    server = EmulatorServer(
        emulated,
        host=host,
        port=port,
        plan=load_file(FaultPlan, faults) if faults else None,
        responder=Responder(load_file(Script, scripts)) if scripts else None,
        guardrails=GuardrailRegistry(load_file(GuardrailCatalog, guardrails))
        if guardrails
        else None,
        knowledge=_load_knowledge(knowledge, emulated) if knowledge else None,
    )
    asyncio.run(_run(server, json_output))


def _load_knowledge(path: Path, regions: list[str]) -> KnowledgeCorpus:
    catalog = load_file(KnowledgeCatalog, path)
    for region in catalog.root:
        if region not in regions:
            raise InputError(
                f"{path}: {region} is not an emulated Region; add it to --regions or remove it"
            )
    return KnowledgeCorpus(catalog)


async def _run(server: EmulatorServer, json_output: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except OSError as exc:
        raise InputError(f"cannot listen on {server.host}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"--faults: {describe_plan_error(exc)}") from None
    announce: dict[str, Any] = {"endpoints": server.endpoints, "control": server.control_url}
    if json_output:
        print(json.dumps(announce), flush=True)
    else:
        for region, url in server.endpoints.items():
            print(f"{region:<16} {url}", flush=True)
        print(
            f"{'control':<16} {server.control_url}   (GET/DELETE /calls, GET/PUT /faults)",
            flush=True,
        )
        print("Press Ctrl+C to stop.", file=sys.stderr, flush=True)
    await stop.wait()
    await server.stop()
