"""AWS AppConfig as botocore's ``Stubber`` plays it: shapes checked against botocore's models.

:class:`AppConfigStubs` holds one ``appconfig`` and one ``appconfigdata`` client (dummy
credentials, never sent anywhere) and queues the answers a test expects, in order.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from agentkit.config import OpsAppConfig

STRATEGY = "imm0001"  # a custom strategy: no duration, no bake (docs/ops.md)
SETTINGS = OpsAppConfig(
    application="abc1234",
    environment="env5678",
    profile="prof901",
    region="us-east-1",
    deployment_strategy=STRATEGY,
)
IDS = {"ApplicationId": "abc1234", "ConfigurationProfileId": "prof901"}


def body(document: dict[str, Any] | None) -> StreamingBody:
    raw = b"" if document is None else json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def broken_body() -> StreamingBody:
    """A body the connection drops mid-way: its read raises botocore's IncompleteReadError."""
    raw = json.dumps(document(kill_switch="on")).encode()
    return StreamingBody(io.BytesIO(raw[:10]), len(raw))


def document(by: str = "alice", **overrides: str) -> dict[str, Any]:
    return {"overrides": overrides, "by": by, "at": "2026-12-07T03:30:00Z"}


class AppConfigStubs:
    def __init__(self) -> None:
        options: dict[str, Any] = {
            "region_name": SETTINGS.region,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.control = boto3.client("appconfig", **options)
        self.data = boto3.client("appconfigdata", **options)
        self.control_stub = Stubber(self.control)
        self.data_stub = Stubber(self.data)
        self.created: list[dict[str, Any]] = []  # the parameters of each hosted version created
        self.control.meta.events.register(
            "provide-client-params.appconfig.CreateHostedConfigurationVersion",
            lambda params, **_: self.created.append(dict(params)),
        )
        self.control_stub.activate()
        self.data_stub.activate()

    # --- appconfigdata (workers) -----------------------------------------------------------

    def session(self, token: str = "t0", min_poll: int = 15) -> None:
        self.data_stub.add_response(
            "start_configuration_session",
            {"InitialConfigurationToken": token},
            {
                "ApplicationIdentifier": SETTINGS.application,
                "EnvironmentIdentifier": SETTINGS.environment,
                "ConfigurationProfileIdentifier": SETTINGS.profile,
                "RequiredMinimumPollIntervalInSeconds": min_poll,
            },
        )

    def latest(
        self, token: str, next_token: str, doc: dict[str, Any] | None, interval: int = 15
    ) -> None:
        self.data_stub.add_response(
            "get_latest_configuration",
            {
                "NextPollConfigurationToken": next_token,
                "NextPollIntervalInSeconds": interval,
                "ContentType": "application/json",
                "Configuration": body(doc),
            },
            {"ConfigurationToken": token},
        )

    # --- appconfig (ops set / clear) -------------------------------------------------------

    def strategy(self, duration: int = 0, bake: int = 0, named: str = STRATEGY) -> None:
        self.control_stub.add_response(
            "get_deployment_strategy",
            {
                "Id": named,
                "Name": "agentkit-ops-immediate",
                "DeploymentDurationInMinutes": duration,
                "GrowthType": "LINEAR",
                "GrowthFactor": 100.0,
                "FinalBakeTimeInMinutes": bake,
                "ReplicateTo": "NONE",
            },
            {"DeploymentStrategyId": named},
        )

    def deployments(self, *items: tuple[int, str, str] | tuple[int, str, str, str]) -> None:
        """The environment's deployments, newest first: (number, version, state[, profile])."""
        summaries = [
            {
                "DeploymentNumber": item[0],
                "ConfigurationProfileId": item[3] if len(item) > 3 else SETTINGS.profile,
                "ConfigurationName": "ops",
                "ConfigurationVersion": item[1],
                "DeploymentDurationInMinutes": 0,
                "GrowthType": "LINEAR",
                "GrowthFactor": 100.0,
                "FinalBakeTimeInMinutes": 0,
                "State": item[2],
                "PercentageComplete": 100.0,
            }
            for item in items
        ]
        self.control_stub.add_response(
            "list_deployments",
            {"Items": summaries},
            {"ApplicationId": SETTINGS.application, "EnvironmentId": SETTINGS.environment},
        )

    def reads(self, newest: int | None, deployed: int | None, doc: dict[str, Any]) -> None:
        """What every change reads first: the strategy, the newest hosted version, the version
        the environment runs (its last COMPLETE deployment) and that version's document."""
        self.strategy()
        self.versions(*(range(1, newest + 1) if newest else ()))
        if deployed is None:
            self.deployments()
        else:
            self.deployments((deployed, str(deployed), "COMPLETE"))
            self.version(deployed, doc)

    def versions(self, *numbers: int) -> None:
        items = [{**IDS, "VersionNumber": n, "ContentType": "application/json"} for n in numbers]
        self.control_stub.add_response(
            "list_hosted_configuration_versions", {"Items": items}, dict(IDS)
        )

    def version(self, number: int, doc: dict[str, Any]) -> None:
        self.control_stub.add_response(
            "get_hosted_configuration_version",
            {
                **IDS,
                "VersionNumber": number,
                "Content": body(doc),
                "ContentType": "application/json",
            },
            {**IDS, "VersionNumber": number},
        )

    def create(self, latest: int | None, new: int) -> None:
        expected: dict[str, Any] = {
            **IDS,
            "Content": ANY,
            "ContentType": "application/json",
            "Description": ANY,
        }
        if latest is not None:
            expected["LatestVersionNumber"] = latest
        self.control_stub.add_response(
            "create_hosted_configuration_version", {**IDS, "VersionNumber": new}, expected
        )

    def deploy(self, version: int, strategy: str = STRATEGY) -> None:
        self.control_stub.add_response(
            "start_deployment",
            {
                **IDS,
                "EnvironmentId": SETTINGS.environment,
                "DeploymentNumber": 7,
                "ConfigurationVersion": str(version),
                "State": "DEPLOYING",
            },
            {
                **IDS,
                "EnvironmentId": SETTINGS.environment,
                "DeploymentStrategyId": strategy,
                "ConfigurationVersion": str(version),
                "Description": ANY,
            },
        )

    def written(self, index: int = -1) -> dict[str, Any]:
        """The document a created hosted version holds."""
        return dict(json.loads(self.created[index]["Content"]))

    def done(self) -> None:
        self.control_stub.assert_no_pending_responses()
        self.data_stub.assert_no_pending_responses()
