"""The control document in AWS AppConfig: a hosted configuration profile, deployed to workers.

Workers read it as AppConfig means clients to: one ``appconfigdata`` session
(``StartConfigurationSession``), then ``GetLatestConfiguration`` with the token the previous
call returned (``NextPollConfigurationToken``; each token is good for one call), never sooner
than the ``NextPollIntervalInSeconds`` it asked for. An empty ``Configuration`` means "unchanged
since your last call": the last reading stands. The token and the next poll time are kept only
once the body is read and parsed; a call that fails (the streamed body broken off or timed out
included) drops the token, so the next poll starts a new session and gets the whole document
rather than "unchanged". AppConfig's shortest poll interval is 15 s
(``RequiredMinimumPollIntervalInSeconds``, botocore's model), so a change reaches every worker
within 15 s of its deployment's end.

AppConfig runs one deployment per environment at a time (a second ``StartDeployment`` is a
``ConflictException`` until the first one, bake time included, ends; aws/aws-cdk#29345), and every
predefined strategy bakes: ``AppConfig.AllAtOnce`` watches alarms for 10 minutes after it deploys
(AWS AppConfig User Guide, "Using predefined deployment strategies"). The kill switch could then not
be turned off for 10 minutes. So ``ops set`` and ``clear`` deploy only with a strategy of zero
duration and zero bake (``ops.appconfig.deployment_strategy``, created as docs/ops.md says), checked
with ``GetDeploymentStrategy`` before anything is written.

``agentkit ops set`` and ``clear`` apply the change to the version the environment runs (the last
``COMPLETE`` deployment of the profile, ``ListDeployments``), never to a newer hosted version
whose deployment failed or never started (that change was reported as not made), write the result
as the next hosted version (``CreateHostedConfigurationVersion`` with ``LatestVersionNumber``, so
a concurrent change is refused rather than lost) and deploy it (``StartDeployment``). A
deployment of the profile still in progress refuses the change before anything is written. The
audit line (who, what, when) goes to the local audit file and into the version's and the
deployment's ``Description``. The document is the file backend's JSON.

boto3 is imported only here, when the backend is used.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.ops.changes import (
    Change,
    OpsUnavailable,
    append_audit,
    apply,
    parse_document,
    render_document,
)
from agentkit.ops.document import Overrides

if TYPE_CHECKING:
    from agentkit.config import OpsAppConfig

CONTENT_TYPE = "application/json"
MIN_POLL_S = 15  # appconfigdata's RequiredMinimumPollIntervalInSeconds minimum (botocore model)
DESCRIPTION_CHARS = 1024  # appconfig's Description maximum (botocore model)
# What only a change to ops.appconfig or the role's permissions fixes.
_MISCONFIGURED = (
    "ResourceNotFoundException",
    "BadRequestException",
    "AccessDeniedException",
    "UnrecognizedClientException",
)
# A deployment still running or rolling back: the environment takes no other until it ends.
_IN_PROGRESS = ("DEPLOYING", "BAKING", "VALIDATING", "ROLLING_BACK")
# How to make the strategy ``ops set`` needs (CreateDeploymentStrategy, botocore's model).
CREATE_STRATEGY = (
    "aws appconfig create-deployment-strategy --name agentkit-ops-immediate "
    "--deployment-duration-in-minutes 0 --final-bake-time-in-minutes 0 --growth-factor 100 "
    "--replicate-to NONE"
)


class OpsMisconfigured(OpsUnavailable):
    """The AppConfig backend cannot be used as configured: no credentials, an application,
    environment or profile that does not exist. A worker keeps its last reading; the CLI exits 2."""

    exit_code = 2


class AppConfigStore:
    """The ops document as an AppConfig hosted configuration profile."""

    def __init__(
        self,
        settings: OpsAppConfig,
        control: Any,  # a boto3 ``appconfig`` client
        data: Any,  # a boto3 ``appconfigdata`` client
        audit: Path,
        *,
        poll_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.control = control
        self.data = data
        self.audit = audit
        self.min_poll_s = max(MIN_POLL_S, math.ceil(poll_s))
        self._monotonic = monotonic
        self._token: str | None = None
        self._next_poll_at = 0.0
        self._last = Overrides()
        s = settings
        self.where = (
            f"appconfig {s.region} application {s.application} environment {s.environment} "
            f"profile {s.profile}"
        )

    # --- what the workers read --------------------------------------------------------------

    def read(self) -> Overrides:
        """The deployed document; between polls (AppConfig's interval), the last reading."""
        if self._token is not None and self._monotonic() < self._next_poll_at:
            return self._last
        try:
            with self._aws("cannot read the ops document"):
                answer = self._latest()
                # ``Configuration`` streams: its read can time out or break off mid-body.
                content = answer.get("Configuration")
                body = content.read() if content is not None else b""
                fresh = (
                    parse_document(body.decode("utf-8", "replace"), self.where) if body else None
                )
        except BaseException:
            # The token was spent on a change this worker never saw: AppConfig would answer
            # "unchanged" to the next one. A new session's first call sends the whole document.
            self._token = None
            raise
        self._token = answer["NextPollConfigurationToken"]
        self._next_poll_at = self._monotonic() + answer.get(
            "NextPollIntervalInSeconds", self.min_poll_s
        )
        if fresh is not None:  # none: an empty configuration, unchanged since the last call
            self._last = fresh
        return self._last

    def _latest(self) -> dict[str, Any]:
        if self._token is None:
            self._token = self._start_session()
        try:
            return dict(self.data.get_latest_configuration(ConfigurationToken=self._token))
        except self.data.exceptions.BadRequestException:
            # A token is good for one call and expires after 24 hours: start a new session.
            self._token = self._start_session()
            return dict(self.data.get_latest_configuration(ConfigurationToken=self._token))

    def _start_session(self) -> str:
        s = self.settings
        session = self.data.start_configuration_session(
            ApplicationIdentifier=s.application,
            EnvironmentIdentifier=s.environment,
            ConfigurationProfileIdentifier=s.profile,
            RequiredMinimumPollIntervalInSeconds=self.min_poll_s,
        )
        return str(session["InitialConfigurationToken"])

    # --- what ``ops set`` and ``ops clear`` write -------------------------------------------

    def update(self, change: Change) -> Overrides:
        """Apply ``change`` to the deployed version, store the result as the next hosted version
        and deploy it with a strategy of no duration and no bake."""
        s = self.settings
        line = change.audit_line(self.where)
        with self._aws("the change was not made"):
            strategy = self._immediate_strategy()
            newest = self._newest_number()
            current = self._deployed()
            fields = apply(current.fields(), change)
            create: dict[str, Any] = {
                "ApplicationId": s.application,
                "ConfigurationProfileId": s.profile,
                "Content": render_document(fields, change).encode("utf-8"),
                "ContentType": CONTENT_TYPE,
                "Description": line[:DESCRIPTION_CHARS],
            }
            if newest is not None:
                create["LatestVersionNumber"] = newest  # refused if someone wrote meanwhile
            version = self.control.create_hosted_configuration_version(**create)["VersionNumber"]
        with self._aws(f"version {version} is stored but was not deployed"):
            self.control.start_deployment(
                ApplicationId=s.application,
                EnvironmentId=s.environment,
                DeploymentStrategyId=strategy,
                ConfigurationProfileId=s.profile,
                ConfigurationVersion=str(version),
                Description=line[:DESCRIPTION_CHARS],
            )
        append_audit(self.audit, line)
        return Overrides.from_fields(fields, {"by": change.by, "at": change.at})

    def _immediate_strategy(self) -> str:
        """``ops.appconfig.deployment_strategy``, checked to deploy at once and not bake: else
        the environment would refuse the next change (the kill switch's ``off``) until it ends."""
        named = self.settings.deployment_strategy
        if named is None:
            raise OpsMisconfigured(
                f"{self.where}: the change was not made: ops.appconfig.deployment_strategy is not "
                "set and every predefined strategy bakes (AppConfig.AllAtOnce: 10 minutes, "
                f"refusing every other change meanwhile); create one with `{CREATE_STRATEGY}` "
                "and set its id"
            )
        strategy = self.control.get_deployment_strategy(DeploymentStrategyId=named)
        duration = int(strategy.get("DeploymentDurationInMinutes", 0))
        bake = int(strategy.get("FinalBakeTimeInMinutes", 0))
        if duration or bake:
            raise OpsMisconfigured(
                f"{self.where}: the change was not made: deployment strategy {named} deploys "
                f"over {duration} min and bakes {bake} min, and the environment refuses every "
                f"other change meanwhile; create one with `{CREATE_STRATEGY}` and set "
                "ops.appconfig.deployment_strategy to its id"
            )
        return named

    def _newest_number(self) -> int | None:
        """The newest hosted version's number (None: no version yet)."""
        s = self.settings
        paginator = self.control.get_paginator("list_hosted_configuration_versions")
        numbers = [
            int(item["VersionNumber"])
            for page in paginator.paginate(
                ApplicationId=s.application, ConfigurationProfileId=s.profile
            )
            for item in page.get("Items", [])
        ]
        return max(numbers) if numbers else None

    def _deployed(self) -> Overrides:
        """The document the environment runs: the version of the profile's last ``COMPLETE``
        deployment (none deployed yet: no overrides). A deployment in progress refuses."""
        s = self.settings
        paginator = self.control.get_paginator("list_deployments")
        pages = paginator.paginate(ApplicationId=s.application, EnvironmentId=s.environment)
        for page in pages:  # newest first (ListDeployments' order)
            for item in page.get("Items", []):
                if item.get("ConfigurationProfileId") not in (None, s.profile):
                    continue  # another profile's deployment to the same environment
                state = item.get("State")
                if state in _IN_PROGRESS:
                    raise OpsUnavailable(
                        f"{self.where}: the change was not made: deployment "
                        f"{item.get('DeploymentNumber')} (version "
                        f"{item.get('ConfigurationVersion')}) is {state}; run the command "
                        "again when it ends"
                    )
                if state == "COMPLETE":
                    return self._version(str(item["ConfigurationVersion"]))
                # ROLLED_BACK, REVERTED: that version is not what the workers run
        return Overrides()

    def _version(self, number: str) -> Overrides:
        s = self.settings
        version = self.control.get_hosted_configuration_version(
            ApplicationId=s.application, ConfigurationProfileId=s.profile, VersionNumber=int(number)
        )
        content = version["Content"]
        body = content.read() if hasattr(content, "read") else content
        return parse_document(bytes(body).decode("utf-8", "replace"), self.where)

    # --- AWS errors as one line -------------------------------------------------------------

    @contextlib.contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except NoCredentialsError:
            raise OpsMisconfigured(
                f"{self.where}: {what}: no AWS credentials found; configure credentials "
                "(AWS_PROFILE, environment variables or a role) or use another ops.backend"
            ) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "") or code
            if code in _MISCONFIGURED:
                raise OpsMisconfigured(
                    f"{self.where}: {what}: {code}: {message}; check ops.appconfig in "
                    "agentkit.yaml (the ids of the application, environment and profile) and "
                    "the role's AppConfig permissions"
                ) from None
            if code == "ConflictException":
                raise OpsUnavailable(
                    f"{self.where}: {what}: {message} (another change, or a deployment or its "
                    "bake time, is in progress); run the command again when it ends"
                ) from None
            raise OpsUnavailable(f"{self.where}: {what}: {code}: {message}") from None
        except BotoCoreError as error:
            raise OpsUnavailable(f"{self.where}: {what}: {error}") from None

    def close(self) -> None:
        for client in (self.control, self.data):
            with contextlib.suppress(Exception):
                client.close()


def open_appconfig(settings: OpsAppConfig, audit: Path, *, poll_s: float = 2.0) -> AppConfigStore:
    """The store with boto3 clients for the profile's Region (botocore retries as standard)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
    )
    control = boto3.client("appconfig", region_name=settings.region, config=config)
    data = boto3.client("appconfigdata", region_name=settings.region, config=config)
    return AppConfigStore(settings, control, data, audit, poll_s=poll_s)
