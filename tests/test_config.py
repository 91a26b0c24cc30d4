"""agentkit.yaml: frozen models, and one line naming file, line and key for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agentkit.config import AgentkitConfig, load_config
from agentkit.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentkit.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config == AgentkitConfig()
    assert config.resilience.retry.max_attempts == 3
    assert config.limits.recursion_limit == 12
    with pytest.raises(ValidationError):
        config.limits.max_tokens = 5  # type: ignore[misc]  # frozen


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
models:
  residency: eu
  routes:
    - {model: eu.anthropic.claude-sonnet-4-5-20250929-v1:0, region: eu-west-1}
    - {model: eu.anthropic.claude-sonnet-4-5-20250929-v1:0, region: eu-central-1}
  endpoints: {eu-west-1: "http://127.0.0.1:41001"}
resilience:
  retry: {max_attempts: 4, budget_ratio: 0.1}
  breaker: {fail_max: 3, reset_timeout_s: 10, failure_ratio: 0.5}
limits: {max_tokens: 512}
guardrails: {eu-west-1: {id: gr-1, version: "2"}}
telemetry: {exporter: jsonl, path: spans.jsonl}
""",
    )
    config = load_config(path)
    assert [r.region for r in config.models.routes] == ["eu-west-1", "eu-central-1"]
    assert config.resilience.breaker.failure_ratio == 0.5
    assert config.guardrails["eu-west-1"].version == "2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "models:\n  routes:\n    - {model: x, region: 3}\n",
            ":3: models.routes[0].region: Input should be a valid string (got 3)",
        ),
        ("models:\n  routez: []\n", ":2: models.routez: unknown key (check the spelling)"),
        (
            "resilience:\n  retry:\n    max_attempts: 0\n",
            ":3: resilience.retry.max_attempts: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            "models:\n  routes:\n    - {region: us-east-1}\n",
            ":3: models.routes[0].model: required key is missing",
        ),
        ("models: [\n", "invalid YAML"),
        ("- just\n- a list\n", ":1: expected a mapping of sections"),
        ("a: 1\na: 2\n", ":2: invalid YAML: duplicate key 'a'"),
    ],
)
def test_bad_files_give_one_line_naming_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_residency_violation_names_the_route_and_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """models:
  residency: eu
  routes:
    - {model: eu.amazon.nova-pro-v1:0, region: eu-west-1}
    - {model: us.amazon.nova-pro-v1:0, region: us-east-1}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(
        f"{path}:5: models.routes[1] (us.amazon.nova-pro-v1:0@us-east-1): "
    )
    assert "outside residency eu" in str(caught.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_a_fleet_backend_without_its_packages_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from agentkit.bedrock.gateway import Gateway
    from agentkit.config import AgentkitConfig
    from agentkit.errors import ConfigError

    monkeypatch.setitem(sys.modules, "redis", None)  # as if the fleet extra were not installed
    monkeypatch.delitem(sys.modules, "agentkit.resilience.redis_state", raising=False)
    config = AgentkitConfig.model_validate({"resilience": {"state": {"backend": "redis"}}})
    with pytest.raises(
        ConfigError,
        match=r"resilience.state: the redis package is not installed; install the fleet extra",
    ):
        Gateway.from_config(config)
