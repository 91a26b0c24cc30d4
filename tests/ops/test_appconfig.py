"""The AppConfig backend: workers poll appconfigdata as AppConfig asks, ``ops set/clear`` write a
hosted version and deploy it, and AWS mistakes are one line (botocore's ``Stubber``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from agentkit.cli.app import main
from agentkit.ops import OverrideView
from agentkit.ops.appconfig import AppConfigStore, OpsMisconfigured
from agentkit.ops.store import OpsUnavailable, change

from .appconfig_stubs import SETTINGS, AppConfigStubs, broken_body, document
from .conftest import Ticks


@pytest.fixture
def aws() -> Iterator[AppConfigStubs]:
    stubs = AppConfigStubs()
    yield stubs
    stubs.done()


def store(aws: AppConfigStubs, tmp_path: Path, clock: Ticks | None = None) -> AppConfigStore:
    return AppConfigStore(
        SETTINGS,
        aws.control,
        aws.data,
        tmp_path / "audit.jsonl",
        monotonic=clock or Ticks(),
    )


def test_a_worker_polls_with_the_next_token_no_sooner_than_appconfig_asks(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    clock = Ticks()
    aws.session("t0")
    aws.latest("t0", "t1", document(kill_switch="on"), interval=30)
    aws.latest("t1", "t2", None)  # unchanged since the last call: an empty configuration
    aws.latest("t2", "t3", document(by="bob"))
    view = OverrideView(store(aws, tmp_path, clock), poll_s=2.0, monotonic=clock)

    first = view.current()
    assert first.kill_switch
    assert first.set_by == "alice"
    for _ in range(14):  # the view asks the store every 2 s; AppConfig asked for 30 s
        clock.now += 2
        assert view.current().kill_switch
    clock.now = 130.0
    assert view.current().kill_switch  # t1: nothing new, the last reading stands
    clock.now += 15
    assert not view.current().active  # t2: cleared by bob
    assert view.current().set_by == "bob"


def test_an_expired_token_starts_a_new_session(aws: AppConfigStubs, tmp_path: Path) -> None:
    aws.session("t0")
    aws.latest("t0", "t1", document(max_tokens="512"))
    aws.data_stub.add_client_error(
        "get_latest_configuration", "BadRequestException", "Token expired"
    )
    aws.session("s1")
    aws.latest("s1", "s2", document(max_tokens="256"))
    clock = Ticks()
    backend = store(aws, tmp_path, clock)
    assert backend.read().max_tokens == 512
    clock.now += 15
    assert backend.read().max_tokens == 256


def test_a_body_that_breaks_off_is_one_line_and_the_next_poll_fetches_the_document(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    aws.session("t0")
    aws.data_stub.add_response(
        "get_latest_configuration",
        {
            "NextPollConfigurationToken": "t1",
            "NextPollIntervalInSeconds": 15,
            "ContentType": "application/json",
            "Configuration": broken_body(),
        },
        {"ConfigurationToken": "t0"},
    )
    # t1 would answer "unchanged": the deployment above was never seen, so a new session.
    aws.session("s1")
    aws.latest("s1", "s2", document(kill_switch="on"))
    clock = Ticks()
    backend = store(aws, tmp_path, clock)
    with pytest.raises(OpsUnavailable) as failed:
        backend.read()
    assert "cannot read the ops document" in str(failed.value)
    assert "\n" not in str(failed.value)
    assert backend.read().kill_switch  # at the next question, not AppConfig's interval later


def test_set_writes_the_next_hosted_version_over_the_deployed_one_and_deploys_it(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    aws.strategy()
    aws.versions(1, 3, 2)
    aws.deployments((9, "3", "COMPLETE"), (8, "2", "COMPLETE"))
    aws.version(3, document(max_tokens="512"))
    aws.create(latest=3, new=4)
    aws.deploy(4)
    now = store(aws, tmp_path).update(change({"kill_switch": "on"}, by="carol"))
    assert now.fields() == {"kill_switch": "on", "max_tokens": "512"}
    written = aws.written()
    assert written["overrides"] == {"kill_switch": "on", "max_tokens": "512"}
    assert written["by"] == "carol"
    assert json.loads(aws.created[0]["Description"])["by"] == "carol"
    (line,) = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert json.loads(line)["set"] == {"kill_switch": "on"}
    assert "appconfig us-east-1 application abc1234" in json.loads(line)["where"]


def test_the_first_change_creates_the_first_version(aws: AppConfigStubs, tmp_path: Path) -> None:
    aws.reads(newest=None, deployed=None, doc={})
    aws.create(latest=None, new=1)
    aws.deploy(1)
    store(aws, tmp_path).update(change({"pin": "us-west-2"}, by="dan"))
    assert aws.written()["overrides"] == {"pin": "us-west-2"}


def test_a_concurrent_change_is_refused_not_lost(aws: AppConfigStubs, tmp_path: Path) -> None:
    aws.reads(newest=3, deployed=3, doc=document())
    aws.control_stub.add_client_error(
        "create_hosted_configuration_version", "ConflictException", "version 4 exists"
    )
    with pytest.raises(OpsUnavailable, match="another change, or a deployment or its bake"):
        store(aws, tmp_path).update(change({"kill_switch": "on"}, by="erin"))
    assert not (tmp_path / "audit.jsonl").exists()  # no audit line for a change not made


def test_a_deployment_in_progress_leaves_the_version_stored_and_says_so(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    aws.reads(newest=3, deployed=3, doc=document())
    aws.create(latest=3, new=4)
    aws.control_stub.add_client_error(
        "start_deployment", "ConflictException", "a deployment is in progress"
    )
    with pytest.raises(OpsUnavailable, match="version 4 is stored but was not deployed") as e:
        store(aws, tmp_path).update(change({"kill_switch": "on"}, by="erin"))
    assert "a deployment or its bake time, is in progress" in str(e.value)


def test_a_strategy_that_bakes_is_refused_before_anything_is_written(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    """AppConfig.AllAtOnce bakes 10 minutes, and the environment takes no other deployment
    meanwhile: the kill switch could not be turned off."""
    aws.strategy(duration=0, bake=10)
    with pytest.raises(OpsMisconfigured) as refused:
        store(aws, tmp_path).update(change({"kill_switch": "on"}, by="erin"))
    message = str(refused.value)
    assert "\n" not in message
    assert f"deployment strategy {SETTINGS.deployment_strategy} deploys over 0 min" in message
    assert "bakes 10 min" in message
    assert "--deployment-duration-in-minutes 0 --final-bake-time-in-minutes 0" in message
    assert "set ops.appconfig.deployment_strategy to its id" in message
    assert aws.created == []  # no version written, nothing deployed
    assert not (tmp_path / "audit.jsonl").exists()


def test_no_strategy_named_is_refused_with_how_to_create_one(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    unnamed = SETTINGS.model_copy(update={"deployment_strategy": None})
    backend = AppConfigStore(unnamed, aws.control, aws.data, tmp_path / "audit.jsonl")
    with pytest.raises(OpsMisconfigured, match="deployment_strategy is not set") as refused:
        backend.update(change({"kill_switch": "on"}, by="erin"))
    assert "aws appconfig create-deployment-strategy" in str(refused.value)
    assert aws.created == []  # no AWS call at all (the stubs hold nothing)


def test_a_change_builds_on_the_deployed_version_not_a_newer_one_that_failed(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    """Version 3 (kill_switch=on) was stored but its deployment rolled back, and version 4's never
    started: the operator was told both failed. The next change builds on version 2, the one the
    environment runs, so it deploys neither."""
    aws.strategy()
    aws.versions(1, 2, 3, 4)
    aws.deployments(
        (12, "1", "COMPLETE", "other01"),  # another profile deployed to the same environment
        (11, "3", "ROLLED_BACK"),
        (10, "2", "COMPLETE"),
        (9, "1", "COMPLETE"),
    )
    aws.version(2, document(max_tokens="512"))
    aws.create(latest=4, new=5)
    aws.deploy(5)
    now = store(aws, tmp_path).update(change({"pin": "us-west-2"}, by="fay"))
    assert now.fields() == {"max_tokens": "512", "pin": "us-west-2"}
    assert aws.written()["overrides"] == {"max_tokens": "512", "pin": "us-west-2"}


def test_a_deployment_in_progress_refuses_the_change_before_it_is_written(
    aws: AppConfigStubs, tmp_path: Path
) -> None:
    aws.strategy()
    aws.versions(1, 2)
    aws.deployments((4, "2", "DEPLOYING"), (3, "1", "COMPLETE"))
    with pytest.raises(OpsUnavailable, match="deployment 4 \\(version 2\\) is DEPLOYING"):
        store(aws, tmp_path).update(change({"kill_switch": "off"}, by="gus"))
    assert aws.created == []


# --- the CLI, with boto3's clients replaced by the stubbed ones --------------------------------


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        "ops:\n  backend: appconfig\n"
        f"  audit: {tmp_path / 'audit.jsonl'}\n"
        "  appconfig: {application: abc1234, environment: env5678, profile: prof901, "
        "region: us-east-1, deployment_strategy: imm0001}\n"
    )
    return path


@pytest.fixture
def stubbed_boto3(aws: AppConfigStubs, monkeypatch: pytest.MonkeyPatch) -> AppConfigStubs:
    clients = {"appconfig": aws.control, "appconfigdata": aws.data}

    def client(service: str, **options: Any) -> Any:
        assert options["region_name"] == "us-east-1"
        return clients[service]

    monkeypatch.setattr(boto3, "client", client)
    return aws


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_ops_set_and_show_on_appconfig(
    stubbed_boto3: AppConfigStubs, cli_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = stubbed_boto3
    aws.reads(newest=None, deployed=None, doc={})
    aws.create(latest=None, new=1)
    aws.deploy(1)
    code, out, err = cli(
        "ops", "set", "kill_switch=on", "-c", str(cli_config), "--by", "al", capsys=capsys
    )
    assert code == 0, err
    assert "overrides now: kill_switch=on (appconfig us-east-1 application abc1234" in out
    assert out.rstrip().endswith(
        "deployed at once (strategy imm0001); every worker applies them within 15 s"
    )
    aws.session("t0")
    aws.latest("t0", "t1", aws.written())
    code, out, err = cli("ops", "show", "--json", "-c", str(cli_config), capsys=capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["overrides"], shown["set_by"]) == ({"kill_switch": "on"}, "al")


def test_an_unknown_application_is_one_line_and_exit_2(
    stubbed_boto3: AppConfigStubs, cli_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed_boto3.data_stub.add_client_error(
        "start_configuration_session",
        "ResourceNotFoundException",
        "Application abc1234 not found",
        http_status_code=404,
    )
    code, _out, err = cli("ops", "show", "-c", str(cli_config), capsys=capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "ResourceNotFoundException: Application abc1234 not found" in err
    assert "check ops.appconfig in agentkit.yaml" in err


def test_no_credentials_is_one_line_and_exit_2(
    cli_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No stub: a real client in an environment without credentials (tests/conftest.py)."""
    code, _out, err = cli("ops", "set", "kill_switch=on", "-c", str(cli_config), capsys=capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "the change was not made: no AWS credentials found" in err
    assert not (cli_config.parent / "audit.jsonl").exists()


def test_a_worker_keeps_its_last_reading_when_appconfig_is_misconfigured() -> None:
    assert issubclass(OpsMisconfigured, OpsUnavailable)  # what OverrideView catches
    assert OpsMisconfigured("x").exit_code == 2


def test_ops_set_without_a_strategy_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agentkit.yaml"
    path.write_text(
        "ops:\n  backend: appconfig\n"
        f"  audit: {tmp_path / 'audit.jsonl'}\n"
        "  appconfig: {application: abc1234, environment: env5678, profile: prof901, "
        "region: us-east-1}\n"
    )
    code, _out, err = cli("ops", "set", "kill_switch=on", "-c", str(path), capsys=capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "ops.appconfig.deployment_strategy is not set" in err
    assert not (tmp_path / "audit.jsonl").exists()
