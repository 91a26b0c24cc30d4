"""The ``drill:`` section of agentkit.yaml: what ``agentkit drill export`` needs beyond the routes.

Only the agent's IAM role is required (its ARN names the account and the partition); the Region
to deny defaults to the first route's, the stop alarms to the health alarms of the Bedrock
evacuation runbook. Every rule that can be checked on the input alone is checked here, so a bad
value is one line naming the file, line and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

# arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (IAM's own limits on names and paths)
ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})$"
)
PREFIX = r"^[A-Za-z][A-Za-z0-9-]{0,31}$"  # room for every name the drill derives from it


@dataclass(frozen=True)
class RoleArn:
    """The parts of the agent's role ARN the drill uses."""

    arn: str
    partition: str
    account: str
    name: str  # AttachRolePolicy takes the name, without the path


def parse_role_arn(arn: str) -> RoleArn:
    match = ROLE_ARN.match(arn)
    if match is None:
        raise ValueError(
            f"{arn!r} is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    return RoleArn(arn, match["partition"], match["account"], match["name"])


class DrillConfig(BaseModel):
    """``drill:`` in agentkit.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role_arn: str  # the IAM role the agent's workers run as: the drill denies it Bedrock
    region: str | None = None  # the Region to deny; default: the first route's
    name_prefix: str = Field(default="agentkit-drill", pattern=PREFIX)
    # FIS stops the experiment when one of these alarms (from agentkit observe export) fires;
    # default: the health alarms of the bedrock-region-evacuation runbook
    stop_alarms: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=5)

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        parse_role_arn(value)
        return value

    @property
    def role(self) -> RoleArn:
        return parse_role_arn(self.role_arn)
