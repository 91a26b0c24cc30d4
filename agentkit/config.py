"""agentkit.yaml: one file, parsed once into frozen models.

Only the entry point (CLI or the caller of :func:`load_config`) reads files and the environment;
everything else receives an :class:`AgentkitConfig`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from agentkit.capacity.config import CapacityConfig
from agentkit.drill.config import DrillConfig
from agentkit.errors import ConfigError
from agentkit.observe.slo import Slos
from agentkit.yamlsource import parse_model, read_yaml

DEFAULT_CONFIG_NAME = "agentkit.yaml"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


ServiceTier = Literal["priority", "default", "flex", "reserved"]
Latency = Literal["standard", "optimized"]


class Route(Frozen):
    model: str = Field(min_length=1)
    region: str = Field(min_length=1)
    # Converse ``serviceTier`` and ``performanceConfig.latency``; unset: the service default.
    # A chain may step tiers on one model and Region (priority, then default) before it moves.
    service_tier: ServiceTier | None = None
    latency: Latency | None = None
    # Context budget (agentkit.bedrock.sizing, docs/gateway.md): the operator's own window for
    # this route (the smaller of it and the packaged table's is used), and whether every
    # request is counted with Bedrock's CountTokens rather than only those near the window.
    context_window: int | None = Field(default=None, ge=1)
    count_tokens: bool = False

    @property
    def name(self) -> str:
        tier = f"#{self.service_tier}" if self.service_tier else ""
        return f"{self.model}@{self.region}{tier}"


class ModelsConfig(Frozen):
    residency: str | tuple[str, ...] = "us"
    allow_global_profiles: bool = False
    routes: tuple[Route, ...] = (
        Route(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", region="us-east-1"),
        Route(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", region="us-west-2"),
        Route(model="us.amazon.nova-pro-v1:0", region="us-east-2"),
    )
    endpoints: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _at_least_one_route(self) -> ModelsConfig:
        if not self.routes:
            raise ValueError("at least one route is required")
        return self


class Timeouts(Frozen):
    connect_s: float = Field(default=1.0, gt=0)
    read_s: float = Field(default=30.0, gt=0)


class RetryConfig(Frozen):
    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: float = Field(default=0.2, ge=0)
    max_delay_s: float = Field(default=5.0, ge=0)
    budget_ratio: float = Field(default=0.2, ge=0, le=1)


class BreakerConfig(Frozen):
    fail_max: int = Field(default=5, ge=1)
    reset_timeout_s: float = Field(default=30.0, gt=0)
    failure_ratio: float | None = Field(default=None, gt=0, le=1)  # off unless set
    window_s: float = Field(default=30.0, gt=0)
    min_calls: int = Field(default=10, ge=1)
    slow_call_s: float | None = Field(default=None, gt=0)  # off unless set
    slow_fail_max: int = Field(default=2, ge=1)
    daily_quota_cooldown_s: float = Field(default=3600.0, gt=0)  # an assumption: see docs


class HedgeConfig(Frozen):
    enabled: bool = False
    delay_s: float = Field(default=2.0, gt=0)


class AdmissionConfig(Frozen):
    """Client-side admission control: a token bucket per route, sized to its quota."""

    enabled: bool = False
    tpm: dict[str, int] = Field(default_factory=dict)  # per Region: the route model's TPM quota
    rpm: dict[str, PositiveInt] = Field(default_factory=dict)  # per Region, optional: its RPM quota
    max_queue: int = Field(default=32, ge=0)
    max_wait_s: float = Field(default=5.0, ge=0)


class StateConfig(Frozen):
    """Where breakers, admission buckets and the retry budget keep their state: ``memory`` (one
    process, the default) or ``redis`` (shared by a fleet of workers; docs/scaleout.md)."""

    backend: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = Field(default="agentkit:", min_length=1)  # one per deployment
    socket_timeout_s: float = Field(default=0.25, gt=0)  # a dead Redis costs at most this
    retry_after_s: float = Field(default=5.0, gt=0)  # back-off before trying Redis again
    key_ttl_s: float = Field(default=86_400.0, gt=0)  # idle state expires
    probe_ttl_s: float = Field(default=60.0, gt=0)  # a half-open probe lock outlives no worker


class ResilienceConfig(Frozen):
    timeouts: Timeouts = Timeouts()
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    hedge: HedgeConfig = HedgeConfig()
    admission: AdmissionConfig = AdmissionConfig()
    state: StateConfig = StateConfig()


class LimitsConfig(Frozen):
    max_tokens: int = Field(default=1024, ge=1)
    run_token_budget: int = Field(default=50_000, ge=1)
    # USD per run at the price table's figures (agentkit/data/prices-v1.json); every route
    # must be priced there, or the configuration is refused. Unset: no dollar limit.
    run_cost_budget_usd: float | None = Field(default=None, gt=0)
    deadline_s: float = Field(default=120.0, gt=0)
    recursion_limit: int = Field(default=12, ge=1)
    tool_repeat_limit: int = Field(default=3, ge=1)  # same tool, same arguments, per run


class GuardrailRef(Frozen):
    id: str = Field(min_length=1)
    version: str = "DRAFT"


class TelemetryConfig(Frozen):
    exporter: Literal["none", "console", "otlp", "jsonl"] = "none"
    path: str | None = None  # for the jsonl exporter
    capture_content: bool = False


class SessionsConfig(Frozen):
    """Where conversations live: ``sqlite`` (one machine, the default; the CLI's ``--sessions``
    path) or ``postgres`` (any worker resumes any session; docs/scaleout.md)."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    dsn: str | None = None  # postgresql://user@host:5432/db, required for postgres
    pool_size: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _postgres_needs_a_dsn(self) -> SessionsConfig:
        if self.backend == "postgres" and not self.dsn:
            raise ValueError("sessions.dsn is required when sessions.backend is postgres")
        return self


class KnowledgeBaseConfig(Frozen):
    """One Knowledge Base, kept in several Regions: its id per Region, in fallback order (the
    first is the primary), and the relevance floor under which results are dropped."""

    # Region -> Knowledge Base id (10 letters or digits, as the console shows it)
    regions: dict[str, Annotated[str, Field(pattern=r"^[0-9a-zA-Z]{10}$")]] = Field(min_length=1)
    min_score: float = Field(default=0.5, ge=0, le=1)
    max_results: int = Field(default=5, ge=1, le=100)
    # bedrock-agent-runtime endpoint per Region; unset, a loopback models.endpoints entry (the
    # emulator serves both APIs on one port) is used, any other is not
    endpoints: dict[str, str] = Field(default_factory=dict)
    # the DR advisor grounds its explanations in this one (its decision never depends on it)
    dr_advisor: bool = False


class OpsAppConfig(Frozen):
    """The AWS AppConfig configuration profile holding the ops document (its ids; workers read
    it through appconfigdata, ``ops set`` writes a hosted version and deploys it)."""

    application: str = Field(min_length=1, max_length=128)
    environment: str = Field(min_length=1, max_length=128)
    profile: str = Field(min_length=1, max_length=128)
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # ``ops set`` needs a strategy with no duration and no bake (docs/ops.md): every predefined
    # one bakes (AppConfig.AllAtOnce: 10 minutes) and AppConfig refuses the next deployment
    # meanwhile; None: ``ops set`` says how to create one (workers do not need it)
    deployment_strategy: str | None = Field(
        default=None,
        pattern=r"(^[a-z0-9]{4,7}$|^AppConfig\.[A-Za-z0-9]{9,40}$)",  # botocore's appconfig model
    )


class OpsConfig(Frozen):
    """Where operator overrides live (docs/ops.md): ``file`` (one host, the default: ``path``,
    else ``$AGENTKIT_HOME/ops.json``), ``redis`` (a fleet; ``url`` and ``prefix`` default to
    ``resilience.state``'s) or ``appconfig`` (a fleet on AWS: the ``appconfig`` section). Every
    worker re-reads the document at most every ``poll_s``."""

    backend: Literal["file", "redis", "appconfig"] = "file"
    appconfig: OpsAppConfig | None = None
    path: str | None = None
    url: str | None = None
    prefix: str | None = Field(default=None, min_length=1)
    poll_s: float = Field(default=2.0, gt=0, le=60)
    audit: str | None = None  # the JSONL audit file; default: beside the document or in the home
    socket_timeout_s: float = Field(default=0.25, gt=0)

    @model_validator(mode="after")
    def _appconfig_named(self) -> OpsConfig:
        if self.backend == "appconfig" and self.appconfig is None:
            raise ValueError(
                "backend appconfig needs an appconfig section: application, environment, "
                "profile, region"
            )
        return self


class McpBreakerConfig(Frozen):
    fail_max: int = Field(default=3, ge=1)  # failures in a row that open the server's breaker
    reset_s: float = Field(default=30.0, gt=0)  # open this long, then one probe call


class McpServerConfig(Frozen):
    """One MCP tool server (docs/mcp.md): a stdio ``command`` with ``args``, or a Streamable
    HTTP ``url``; its tools are called through one reused session, behind its own breaker and
    concurrency limit, and a failed server hands the call to ``fallback``."""

    command: str | None = Field(default=None, min_length=1)
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = Field(default=None, pattern=r"^https?://")
    timeout_s: float = Field(default=30.0, gt=0)  # per call, retries included
    connect_timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=5)  # transport failures of safe calls only
    breaker: McpBreakerConfig = McpBreakerConfig()
    max_concurrent: int = Field(default=8, ge=1)
    max_queue: int = Field(default=32, ge=0)
    fallback: str | None = None  # another mcp_servers name serving the same tools
    # a read_only/idempotent call not answered by then is raced on the fallback (never mutating)
    hedge_after_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("set either command (stdio) or url (Streamable HTTP)")
        if self.hedge_after_s is not None and self.fallback is None:
            raise ValueError("hedge_after_s needs a fallback: the server a slow call is raced on")
        return self


class AgentkitConfig(Frozen):
    models: ModelsConfig = ModelsConfig()
    resilience: ResilienceConfig = ResilienceConfig()
    limits: LimitsConfig = LimitsConfig()
    guardrails: dict[str, GuardrailRef] = Field(default_factory=dict)  # per Region
    telemetry: TelemetryConfig = TelemetryConfig()
    capacity: CapacityConfig | None = None
    sessions: SessionsConfig = SessionsConfig()
    knowledge_bases: dict[str, KnowledgeBaseConfig] = Field(default_factory=dict)  # by name
    drill: DrillConfig | None = None  # agentkit drill export (docs/drills.md)
    ops: OpsConfig = OpsConfig()  # operator overrides: kill switch, pin, max_tokens clamp
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict)  # by name
    slos: Slos | None = None  # per capability; None: agentkit.observe.slo.default_slos

    @model_validator(mode="after")
    def _known_mcp_fallbacks(self) -> AgentkitConfig:
        for name, server in self.mcp_servers.items():
            if server.fallback is not None and server.fallback not in self.mcp_servers:
                raise ValueError(
                    f"mcp_servers.{name}.fallback: no server {server.fallback!r}; "
                    f"known: {', '.join(sorted(self.mcp_servers))}"
                )
            if server.fallback == name:
                raise ValueError(
                    f"mcp_servers.{name}.fallback: a server cannot fall back to itself"
                )
        return self

    @model_validator(mode="after")
    def _one_documentation_knowledge_base(self) -> AgentkitConfig:
        marked = [name for name, kb in self.knowledge_bases.items() if kb.dr_advisor]
        if len(marked) > 1:
            raise ValueError(
                f"knowledge_bases: dr_advisor is set on {', '.join(marked)}; set it on one"
            )
        return self


def load_config(path: str | Path | None = None, *, check_residency: bool = True) -> AgentkitConfig:
    """Load ``path``; without one, ``./agentkit.yaml`` if present, else the built-in defaults.

    Routes outside the configured residency are refused here, naming the file, line and route
    (``agentkit doctor`` passes ``check_residency=False`` to report them route by route).
    """
    from agentkit.residency import check_routes

    if path is None:
        local = Path(DEFAULT_CONFIG_NAME)
        if not local.exists():
            return AgentkitConfig()
        path = local
    doc = read_yaml(Path(path), ConfigError)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise ConfigError(f"{doc.source}:1: expected a mapping of sections at the top level")
    config = parse_model(AgentkitConfig, doc, ConfigError)
    if check_residency:
        check_routes(config.models, locate=doc.where)
    return config


def optional_module(module: str, key: str, extra: str = "fleet") -> ModuleType:
    """Import a module of an optional extra, or say in one line how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{key}: the {exc.name or module} package is not installed; install the {extra} "
            f"extra: pip install 'agentkit-bedrock[{extra}]'"
        ) from None
