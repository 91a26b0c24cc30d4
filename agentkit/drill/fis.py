"""``agentkit drill export --format fis``: deny the agent's role Bedrock in one Region, under FIS.

The drill of seed 004 ("Securely validate business application resilience with AWS FIS and
IAM"), for the model tier: an SSM Automation document attaches a deny policy to the agent's IAM
role, waits for the drill's duration and detaches it (also when a step fails or FIS stops the
experiment), and an FIS experiment template starts it, with stop conditions on the alarms
``agentkit observe export`` creates. Each role may do only its part: the FIS role may start that
one document and pass that one role; the automation role may attach and detach that one policy
on that one role.

The deny names one Region through ``aws:RequestedRegion``: every inference call the role makes
to that Region's endpoint fails, whatever the model ID; a cross-Region profile called from
another Region is denied too on the calls Bedrock routes into that Region
(:func:`reached_routes`, docs/drills.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.errors import ConfigError, InputError
from agentkit.regions import endpoint_kind, partition_of, profile_destinations

if TYPE_CHECKING:
    from agentkit.config import AgentkitConfig, Route
    from agentkit.drill.config import RoleArn
    from agentkit.runbooks.model import Runbook

EVACUATION_RUNBOOK = "bedrock-region-evacuation"  # the runbook this drill exercises
FALLBACK_STOP_ALARMS = ("agent-answer-success-rate",)
DENIED_ACTIONS = ("bedrock:InvokeModel*", "bedrock:Converse*")
MIN_DURATION_S = 60
SETTLE_S = 300  # FIS maxDuration headroom: attach, detach, retries (IAM is eventually consistent)
MAX_ACTION_S = 12 * 3600  # FIS: an action runs at most 12 hours
MAX_DURATION_S = MAX_ACTION_S - SETTLE_S
DRILL_TAG = "agentkit:drill"
MISSING = (
    "agentkit.yaml has no drill: section; add drill: {role_arn: "
    "arn:aws:iam::<account>:role/<the role your agent runs as>} (docs/drills.md)"
)
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """``10m``, ``90s``, ``1h30m`` in seconds, between one minute and 11 h 55 min."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise InputError(
            f"--duration {text!r}: use hours, minutes or seconds, e.g. 10m, 90s, 1h30m"
        )
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not MIN_DURATION_S <= total <= MAX_DURATION_S:
        raise InputError(
            f"--duration {text!r}: a drill lasts from 1m to {iso_duration(MAX_DURATION_S)[2:]} "
            "(FIS runs an action at most 12 hours, and the deny needs time to come off)"
        )
    return total


def iso_duration(seconds: int) -> str:
    """ISO 8601, as SSM's ``aws:sleep`` and FIS's ``maxDuration`` take it: ``PT1H5M``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n]
    return "PT" + "".join(parts or ["0S"])


@dataclass(frozen=True)
class Reached:
    """A route outside the denied Region that the deny can still reach, and why."""

    route: str
    kind: str  # geo-cris | global-cris
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class Drill:
    """Everything the files are built from."""

    region: str  # denied; also where the document, the experiment and the stop alarms live
    role: RoleArn
    prefix: str
    duration_s: int
    stop_alarms: tuple[str, ...]
    denied_routes: tuple[str, ...]
    fallback_routes: tuple[str, ...]
    reached: tuple[Reached, ...]

    @property
    def partition(self) -> str:
        return self.role.partition

    @property
    def account(self) -> str:
        return self.role.account

    @property
    def policy_name(self) -> str:
        return f"{self.prefix}-deny-bedrock-{self.region}"

    @property
    def policy_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{self.policy_name}"

    @property
    def automation_role(self) -> str:
        return f"{self.prefix}-ssm-automation"

    @property
    def experiment_role(self) -> str:
        return f"{self.prefix}-fis-experiment"

    @property
    def document_name(self) -> str:
        return f"{self.prefix}-bedrock-deny-{self.region}"

    def role_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"

    def arn(self, service: str, resource: str) -> str:
        """An ARN in the drill's Region and account."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    @property
    def document_arn(self) -> str:
        return self.arn("ssm", f"document/{self.document_name}")

    def alarm_arn(self, name: str) -> str:
        return self.arn("cloudwatch", f"alarm:{name}")


def plan(config: AgentkitConfig, runbooks: list[Runbook], duration_s: int) -> Drill:
    """The drill for this configuration, or one line saying what to fix in agentkit.yaml."""
    from agentkit.observe.alarms import runbook_alarms

    section = config.drill
    if section is None:
        raise ConfigError(MISSING)
    role = section.role
    routes = config.models.routes
    region = section.region or routes[0].region
    denied = tuple(r.name for r in routes if r.region == region)
    fallbacks = tuple(r for r in routes if r.region != region)
    if not denied:
        raise ConfigError(
            f"drill.region: no route calls {region}; name one of the routes' Regions "
            f"({', '.join(dict.fromkeys(r.region for r in routes))})"
        )
    if not fallbacks:
        raise ConfigError(
            f"drill: every route calls {region}, so the drill would leave the agent no fallback; "
            "add a route in another Region to models.routes first"
        )
    if partition_of(region) != role.partition:
        raise ConfigError(
            f"drill: the Region {region} is in the {partition_of(region)} partition but role_arn "
            f"is in {role.partition}; use the agent's role in {region}'s partition"
        )
    exported = runbook_alarms(runbooks)
    stops = section.stop_alarms or _default_stop_alarms(runbooks)
    unknown = [name for name in stops if name not in exported]
    if unknown:
        raise ConfigError(
            f"drill.stop_alarms: {', '.join(unknown)} is not an alarm agentkit observe export "
            f"creates; use alarms it exports, e.g. {', '.join(_default_stop_alarms(runbooks))}"
        )
    return Drill(
        region=region,
        role=role,
        prefix=section.name_prefix,
        duration_s=duration_s,
        stop_alarms=tuple(dict.fromkeys(stops)),
        denied_routes=denied,
        fallback_routes=tuple(r.name for r in fallbacks),
        reached=reached_routes(fallbacks, region, role.partition),
    )


def _default_stop_alarms(runbooks: list[Runbook]) -> tuple[str, ...]:
    """The health alarms of the runbook this drill exercises: the agent as users see it."""
    for runbook in runbooks:
        if runbook.id == EVACUATION_RUNBOOK:
            return tuple(runbook.spec.get("health_alarms", ())) or FALLBACK_STOP_ALARMS
    return FALLBACK_STOP_ALARMS


def reached_routes(routes: tuple[Route, ...], region: str, partition: str) -> tuple[Reached, ...]:
    """Fallback routes whose inference profile may route calls into the denied Region.

    Bedrock authorizes a routed call again in its destination Region, where
    ``aws:RequestedRegion`` is that Region: a geographic profile's calls routed into the denied
    Region are denied. A global profile's routed calls are authorized against a Region-less
    model ARN, so whether the deny reaches them is not documented: they are listed too.
    """
    found = []
    for route in routes:
        kind = endpoint_kind(route.model)
        if kind == "in-region":
            continue
        destinations = profile_destinations(route.model, partition, source=route.region)
        if region in destinations:
            found.append(Reached(route.name, kind, destinations))
    return tuple(found)


# --- the documents -----------------------------------------------------------------------------


def deny_policy(drill: Drill) -> dict[str, Any]:
    """Deny Bedrock inference in the drill's Region only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AgentkitDrillDenyBedrockInference",
                "Effect": "Deny",
                "Action": list(DENIED_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": [drill.region]}},
            }
        ],
    }


def _trust(service: str, source_arn: str, account: str) -> dict[str, Any]:
    """Only this service, for this account's own executions (no confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            }
        ],
    }


def automation_trust(drill: Drill) -> dict[str, Any]:
    return _trust("ssm.amazonaws.com", drill.arn("ssm", "automation-execution/*"), drill.account)


def automation_policy(drill: Drill) -> dict[str, Any]:
    """Attach and detach the deny policy, and nothing else, on the agent's role only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AttachDetachTheDenyPolicyOnTheAgentRoleOnly",
                "Effect": "Allow",
                "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                "Resource": drill.role.arn,
                "Condition": {"ArnEquals": {"iam:PolicyARN": drill.policy_arn}},
            }
        ],
    }


def experiment_trust(drill: Drill) -> dict[str, Any]:
    return _trust("fis.amazonaws.com", drill.arn("fis", "experiment/*"), drill.account)


def experiment_policy(drill: Drill) -> dict[str, Any]:
    """Start the drill's document, follow and stop its executions, pass the automation role
    to SSM only, and read the stop alarms."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StartTheDrillDocumentOnly",
                "Effect": "Allow",
                "Action": "ssm:StartAutomationExecution",
                "Resource": drill.arn(
                    "ssm", f"automation-definition/{drill.document_name}:$DEFAULT"
                ),
            },
            {
                "Sid": "FollowAndStopItsExecutions",
                "Effect": "Allow",
                "Action": ["ssm:GetAutomationExecution", "ssm:StopAutomationExecution"],
                "Resource": drill.arn("ssm", "automation-execution/*"),
            },
            {
                "Sid": "PassTheAutomationRoleToSsmOnly",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": drill.role_arn(drill.automation_role),
                "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
            },
            {
                "Sid": "ReadTheStopAlarms",  # read-only; DescribeAlarms is not scoped by alarm
                "Effect": "Allow",
                "Action": "cloudwatch:DescribeAlarms",
                "Resource": "*",
            },
        ],
    }


def automation_document(drill: Drill) -> dict[str, Any]:
    """Attach, hold for the duration, detach; a failed or cancelled step goes to the detach."""
    target = {"RoleName": "{{ TargetRoleName }}", "PolicyArn": "{{ DenyPolicyArn }}"}
    cleanup = "step:DetachDenyPolicy"
    return {
        "schemaVersion": "0.3",
        "description": (
            f"agentkit drill: deny {drill.role.name} Bedrock inference in {drill.region} for "
            "{{ Duration }}, then remove the deny (also when a step fails or the FIS experiment "
            "stops). Generated by agentkit drill export; see its README.md."
        ),
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "AutomationAssumeRole": {
                "type": "String",
                "description": "The role that may attach and detach only the deny policy.",
                "allowedValues": [drill.role_arn(drill.automation_role)],
            },
            "TargetRoleName": {
                "type": "String",
                "description": "The agent's IAM role (its name, not its ARN).",
                "default": drill.role.name,
                "allowedValues": [drill.role.name],
            },
            "DenyPolicyArn": {
                "type": "String",
                "description": f"Denies Bedrock inference in {drill.region}.",
                "default": drill.policy_arn,
                "allowedValues": [drill.policy_arn],
            },
            "Duration": {
                "type": "String",
                "description": "How long the deny holds (ISO 8601, e.g. PT10M).",
                "default": iso_duration(drill.duration_s),
                "allowedPattern": r"^PT(?=\d)(\d+H)?(\d+M)?(\d+S)?$",
            },
        },
        "mainSteps": [
            {
                "name": "AttachDenyPolicy",
                "action": "aws:executeAwsApi",
                "description": "Attach the deny policy to the agent's role.",
                "inputs": {"Service": "iam", "Api": "AttachRolePolicy", **target},
                "timeoutSeconds": 60,
                "onFailure": cleanup,
                "onCancel": cleanup,
                "nextStep": "HoldDeny",
            },
            {
                "name": "HoldDeny",
                "action": "aws:sleep",
                "description": "Hold the deny for the drill's duration.",
                "inputs": {"Duration": "{{ Duration }}"},
                "onFailure": cleanup,
                "onCancel": cleanup,
                "nextStep": "DetachDenyPolicy",
            },
            {
                "name": "DetachDenyPolicy",
                "action": "aws:executeAwsApi",
                "description": "Remove the deny policy from the agent's role.",
                "inputs": {"Service": "iam", "Api": "DetachRolePolicy", **target},
                "timeoutSeconds": 60,
                "maxAttempts": 3,
                "isCritical": True,
                "isEnd": True,
            },
        ],
    }


def _tags(drill: Drill) -> dict[str, str]:
    return {
        "Name": f"{drill.prefix}-bedrock-{drill.region}",
        DRILL_TAG: "bedrock-region-deny",
        "agentkit:region": drill.region,
        "agentkit:role": drill.role.name,
    }


def create_document_input(drill: Drill) -> dict[str, Any]:
    """``aws ssm create-document --cli-input-json`` (SSM CreateDocument)."""
    return {
        "Name": drill.document_name,
        "DocumentType": "Automation",
        "DocumentFormat": "JSON",
        "TargetType": "/AWS::IAM::Role",
        "Content": json.dumps(automation_document(drill), indent=2),
        "Tags": [{"Key": k, "Value": v} for k, v in _tags(drill).items()],
    }


def experiment_template_input(drill: Drill) -> dict[str, Any]:
    """``aws fis create-experiment-template --cli-input-json`` (FIS CreateExperimentTemplate).

    The client token is the content's digest: creating the same template twice makes one.
    """
    parameters = {
        "AutomationAssumeRole": drill.role_arn(drill.automation_role),
        "TargetRoleName": drill.role.name,
        "DenyPolicyArn": drill.policy_arn,
        "Duration": iso_duration(drill.duration_s),
    }
    minutes = max(1, drill.duration_s // 60)
    body: dict[str, Any] = {
        "description": (
            f"agentkit drill: deny {drill.role.name} Bedrock inference in {drill.region} for "
            f"{minutes} min; the fallback routes must answer. Stops on "
            f"{', '.join(drill.stop_alarms)}."
        )[:512],
        "roleArn": drill.role_arn(drill.experiment_role),
        "stopConditions": [
            {"source": "aws:cloudwatch:alarm", "value": drill.alarm_arn(name)}
            for name in drill.stop_alarms
        ],
        "actions": {
            f"deny-bedrock-{drill.region}": {
                "actionId": "aws:ssm:start-automation-execution",
                "description": f"Attach the deny policy for {iso_duration(drill.duration_s)}, "
                "then detach it",
                "parameters": {
                    "documentArn": drill.document_arn,
                    # compact: FIS action parameters take no whitespace
                    "documentParameters": json.dumps(parameters, separators=(",", ":")),
                    "maxDuration": iso_duration(drill.duration_s + SETTLE_S),
                },
            }
        },
        "experimentOptions": {
            "accountTargeting": "single-account",
            "emptyTargetResolutionMode": "fail",
        },
        "tags": _tags(drill),
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return {"clientToken": f"agentkit-drill-{digest}", **body}


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
