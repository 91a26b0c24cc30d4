"""``agentkit health``: deep health of the model tier, for health checks and failover triggers."""

from __future__ import annotations

import typer

from agentkit.cli.options import CanaryStateOption, ConfigOption, JsonOption
from agentkit.cli.traced import traced


@traced("health")
def health(
    config: ConfigOption = None,
    json_output: JsonOption = False,
    state: CanaryStateOption = None,
) -> None:
    """Probe every route once (no fallback, maxTokens 1): exit 0 while at least one answers,
    1 when none does. One dead route is not unhealthy: the fallback chain covers it."""
    import json

    from agentkit.bedrock.canary import Canary, default_state_path
    from agentkit.bedrock.health import deep_health
    from agentkit.config import load_config
    from agentkit.paths import agentkit_home

    cfg = load_config(config)
    home = agentkit_home()
    verdict = deep_health(Canary(cfg, state_path=state or default_state_path(home)).run_once())
    if json_output:
        typer.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        typer.echo(f"{'healthy' if verdict.healthy else 'UNHEALTHY'}: {verdict.reason}")
    if not verdict.healthy:
        raise typer.Exit(1)
