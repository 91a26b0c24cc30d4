"""The one in-memory model of what ``agentkit observe export`` deploys, whatever the format.

A :class:`Stack` holds every alarm as the CloudWatch API takes it (``PutMetricAlarm`` and
``PutCompositeAlarm`` input, member names as botocore's model spells them), the dashboard, and
the deployment inputs. Values that differ by deployment are symbols, never strings a renderer
would have to parse:

- :class:`Param`: an input (a CloudFormation parameter, a Terraform variable);
- :class:`Quota`: the Region's quota from the capacity section (a CloudFormation mapping, a
  literal in each Region's Terraform resources);
- :class:`Sub`: a string with ``${Name}`` placeholders (parameters, bound values, and
  ``AWS::Region``, ``AWS::Partition``, ``AWS::AccountId``).

:mod:`agentkit.observe.build` builds it from the configuration and the runbooks (what each
alarm watches is decided there and in :mod:`agentkit.observe.burn`, nowhere else);
:mod:`agentkit.observe.cloudformation` and :mod:`agentkit.observe.terraform` render it;
:func:`api_requests` resolves it for one Region as the API would receive it (the tests check
that against botocore's model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

OUTCOME = "agentkit.outcome"  # the attribute the gateway and answer counters carry (semconv)


@dataclass(frozen=True)
class Param:
    """A deployment input, by its CloudFormation parameter name."""

    name: str


@dataclass(frozen=True)
class Quota:
    """This Region's quota from ``capacity.quotas``: ``Tpm`` or ``Tpd``."""

    key: Literal["Tpm", "Tpd"]


@dataclass(frozen=True)
class Sub:
    """A string with ``${Name}`` placeholders: ``values`` binds some names, the rest are
    parameters or the ``AWS::*`` pseudo parameters."""

    text: str
    values: tuple[tuple[str, Any], ...] = ()


NAMESPACE = Param("MetricsNamespace")


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Literal["String", "Number"]
    description: str
    default: str | None = None
    per_region: bool = False  # one value per Region (a Terraform map keyed by Region)


@dataclass(frozen=True)
class Alarm:
    """One alarm: ``props`` is its PutMetricAlarm (or PutCompositeAlarm) input."""

    name: str
    props: dict[str, Any]
    children: tuple[str, ...] = ()  # a composite's alarms, in rule order

    @property
    def composite(self) -> bool:
        return "AlarmRule" in self.props


@dataclass(frozen=True)
class Stack:
    description: str
    regions: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    quotas: dict[str, dict[str, int]] | None  # Region -> {"Tpm": .., "Tpd": ..}
    alarms: tuple[Alarm, ...]
    dashboard_name: Sub
    dashboard_body: Sub
    by_name: dict[str, Alarm] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {alarm.name: alarm for alarm in self.alarms})


def composite(name: str, description: str, children: list[str], op: str = "OR") -> Alarm:
    rule = f" {op} ".join(f'ALARM("{c}")' for c in children)
    props = {"AlarmName": name, "AlarmDescription": description[:1024], "AlarmRule": rule}
    return Alarm(name, props, tuple(children))


# --- the model resolved for one Region, as the API receives it ----------------------------------

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def resolve(value: Any, stack: Stack, region: str, inputs: dict[str, Any]) -> Any:
    """``value`` with every symbol replaced for ``region``: ``inputs`` gives the parameters
    (defaults apply), ``account`` and ``partition`` the pseudo parameters."""
    if isinstance(value, Param):
        return _input(value.name, stack, inputs)
    if isinstance(value, Quota):
        assert stack.quotas is not None
        return stack.quotas[region][value.key]
    if isinstance(value, Sub):
        bound = dict(value.values)
        pseudo = {
            "AWS::Region": region,
            "AWS::Partition": inputs.get("partition", "aws"),
            "AWS::AccountId": inputs.get("account", "123456789012"),
        }

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in bound:
                return str(resolve(bound[name], stack, region, inputs))
            if name in pseudo:
                return str(pseudo[name])
            return str(_input(name, stack, inputs))

        return PLACEHOLDER.sub(one, value.text)
    if isinstance(value, dict):
        return {k: resolve(v, stack, region, inputs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, stack, region, inputs) for v in value]
    return value


def _input(name: str, stack: Stack, inputs: dict[str, Any]) -> Any:
    if name in inputs:
        return inputs[name]
    default = next(p.default for p in stack.parameters if p.name == name)
    if default is None:
        raise KeyError(f"no value for the parameter {name}")
    return default


def api_requests(
    stack: Stack, region: str, inputs: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(operation, input) for every alarm and the dashboard, in creation order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for alarm in sorted(stack.alarms, key=lambda x: x.composite):
        operation = "PutCompositeAlarm" if alarm.composite else "PutMetricAlarm"
        found.append((operation, resolve(alarm.props, stack, region, inputs)))
    dashboard = {
        "DashboardName": resolve(stack.dashboard_name, stack, region, inputs),
        "DashboardBody": resolve(stack.dashboard_body, stack, region, inputs),
    }
    found.append(("PutDashboard", dashboard))
    return found
