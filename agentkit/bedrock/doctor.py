"""``agentkit doctor``: is every route usable, and would failover keep guardrails on?"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentkit.bedrock.clients import ClientFactory, is_loopback, session_without_imds
from agentkit.bedrock.errors import bedrock_errors
from agentkit.bedrock.lifecycle import LifecycleTable, check_route, load_table
from agentkit.bedrock.lifecycle import describe as describe_lifecycle
from agentkit.capacity.burndown import default_table
from agentkit.config import AgentkitConfig, Route
from agentkit.errors import AgentkitError
from agentkit.residency import allowed_regions, route_violation

PROBE = {"messages": [{"role": "user", "content": [{"text": "ping"}]}]}


@dataclass
class RouteReport:
    route: str
    model: str
    region: str
    endpoint: str
    residency: str  # "ok" or the violation
    guardrail: str  # "ok", "none configured", or the problem
    probe: str  # "ok (12.3 ms)", "skipped", or the error
    admission: str = "off"  # the route's admission bucket: quota and burndown
    breaker: str = "closed"
    lifecycle: str = "unknown"  # the model's lifecycle: ACTIVE, LEGACY (EOL ...), EOL since ...

    @property
    def usable(self) -> bool:
        return (
            self.residency == "ok"
            and self.guardrail in ("ok", "none configured")
            and (self.probe.startswith("ok") or self.probe == "skipped")
            and not self.lifecycle.startswith("EOL")
        )


@dataclass
class DoctorReport:
    credentials: str
    routes: list[RouteReport] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(r.usable for r in self.routes)

    def to_json(self) -> dict[str, Any]:
        return {
            "credentials": self.credentials,
            "healthy": self.healthy,
            "routes": [{**asdict(r), "usable": r.usable} for r in self.routes],
        }


def describe_credentials(config: AgentkitConfig) -> str:
    credentials = session_without_imds().get_credentials()
    if credentials is not None:
        return f"found ({credentials.method})"
    endpoints = config.models.endpoints
    if endpoints and all(is_loopback(endpoints.get(r.region, "")) for r in config.models.routes):
        return "none needed (every route uses a local emulator endpoint)"
    return "none found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"


def diagnose(
    config: AgentkitConfig, *, probe: bool = True, lifecycle: LifecycleTable | None = None
) -> DoctorReport:
    report = DoctorReport(credentials=describe_credentials(config))
    table = lifecycle or load_table()
    today = datetime.now(UTC).date()
    allowed = allowed_regions(config.models.residency)
    clients = ClientFactory(config.resilience.timeouts, config.models.endpoints)
    try:
        for route in config.models.routes:
            violation = route_violation(route, config.models, allowed)
            report.routes.append(
                RouteReport(
                    route=route.name,
                    model=route.model,
                    region=route.region,
                    endpoint=clients.endpoint(route.region) or "AWS (default endpoint)",
                    residency="ok" if violation is None else violation,
                    guardrail=_guardrail(config, route, clients, probe and violation is None),
                    probe=_probe(route, clients) if probe and violation is None else "skipped",
                    admission=_admission(config, route),
                    lifecycle=describe_lifecycle(check_route(route, table, today)),
                )
            )
    finally:
        clients.close()
    return report


def _admission(config: AgentkitConfig, route: Route) -> str:
    settings = config.resilience.admission
    if not settings.enabled:
        return "off"
    tpm = settings.tpm.get(route.region)
    if tpm is None:
        return f"no quota for {route.region} in resilience.admission.tpm"
    entry = default_table().lookup(route.model)
    return f"{tpm} TPM, burndown {entry.burndown if entry else 1.0:g}x"


def _probe(route: Route, clients: ClientFactory) -> str:
    started = time.perf_counter()
    try:
        with bedrock_errors(route.model, route.region):
            clients.client(route.region).count_tokens(
                modelId=route.model, input={"converse": PROBE}
            )
    except AgentkitError as error:
        return f"failed: {error}"
    return f"ok ({(time.perf_counter() - started) * 1000:.1f} ms)"


def _guardrail(config: AgentkitConfig, route: Route, clients: ClientFactory, probe: bool) -> str:
    if not config.guardrails:
        return "none configured"
    ref = config.guardrails.get(route.region)
    if ref is None:
        return (
            f"missing: no guardrail for {route.region} in guardrails; this route will not be used "
            "(guardrails must match across primary and failover)"
        )
    if not probe:
        return "ok"
    try:
        with bedrock_errors(route.model, route.region):
            clients.client(route.region).apply_guardrail(
                guardrailIdentifier=ref.id,
                guardrailVersion=ref.version,
                source="INPUT",
                content=[{"text": {"text": "ping"}}],
            )
    except AgentkitError as error:
        return f"failed: {ref.id}:{ref.version}: {error}"
    return "ok"
