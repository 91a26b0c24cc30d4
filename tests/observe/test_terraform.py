"""`agentkit observe export --format terraform`: the same alarms, composites and dashboard as
the CloudFormation template, per Region, with the AWS provider's argument names.

There is no terraform binary here: each output is resolved for a Region by a small evaluator
written for this test (CloudFormation intrinsics; Terraform interpolations), and the two must
describe the same alarms (names, metrics, thresholds, periods, rules) and the same dashboard.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli.app import main
from agentkit.config import load_config
from agentkit.observe.build import build_stack
from agentkit.observe.cloudformation import to_template
from agentkit.observe.terraform import to_terraform
from agentkit.runbooks import load_all

ROOT = Path(__file__).resolve().parents[2]
SLOS = ROOT / "examples" / "slos.yaml"
CAPACITY = ROOT / "examples" / "capacity-nova-pro.yaml"
RUNBOOKS = load_all()
ACCOUNT, PARTITION = "123456789012", "aws"
INPUTS = {"TpmQuota": 1_000_000, "TpdQuota": 1_440_000_000, "ModelCallsPerMinuteLimit": 400}

# The arguments of the AWS provider's resources, from its documentation pages
# (registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_metric_alarm,
# .../cloudwatch_composite_alarm, .../cloudwatch_dashboard; source files
# website/docs/r/cloudwatch_*.html.markdown in hashicorp/terraform-provider-aws).
METRIC_ALARM_ARGS = {
    "alarm_name", "comparison_operator", "evaluation_periods", "metric_name", "namespace",
    "period", "statistic", "threshold", "threshold_metric_id", "actions_enabled",
    "alarm_actions", "alarm_description", "datapoints_to_alarm", "dimensions",
    "insufficient_data_actions", "ok_actions", "unit", "extended_statistic",
    "treat_missing_data", "evaluate_low_sample_count_percentiles", "metric_query", "tags",
}  # fmt: skip
METRIC_QUERY_ARGS = {"id", "account_id", "expression", "label", "return_data", "metric", "period"}
METRIC_ARGS = {"dimensions", "metric_name", "namespace", "period", "stat", "unit"}
COMPOSITE_ARGS = {
    "alarm_name", "alarm_rule", "alarm_description", "actions_enabled", "alarm_actions",
    "insufficient_data_actions", "ok_actions", "actions_suppressor", "tags",
}  # fmt: skip
DASHBOARD_ARGS = {"dashboard_name", "dashboard_body"}
META_ARGS = {"provider", "depends_on"}


# --- CloudFormation, resolved for one Region ------------------------------------------------------


def _cfn(value: Any, template: dict[str, Any], region: str) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _cfn_ref(arg, template, region)
        if key == "Fn::FindInMap":
            name, top, second = (_cfn(x, template, region) for x in arg)
            return template["Mappings"][name][top][second]
        if key == "Fn::Sub":
            text, bound = (arg, {}) if isinstance(arg, str) else arg
            bound = {k: _cfn(v, template, region) for k, v in bound.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: (
                    str(bound[m.group(1)])
                    if m.group(1) in bound
                    else str(_cfn_ref(m.group(1), template, region))
                ),
                text,
            )
    if isinstance(value, dict):
        return {k: _cfn(v, template, region) for k, v in value.items()}
    if isinstance(value, list):
        return [_cfn(v, template, region) for v in value]
    return value


def _cfn_ref(name: str, template: dict[str, Any], region: str) -> Any:
    pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}
    if name in pseudo:
        return pseudo[name]
    return INPUTS.get(name, template["Parameters"][name].get("Default"))


def _cfn_alarms(template: dict[str, Any], region: str) -> dict[str, Any]:
    found = {}
    for resource in template["Resources"].values():
        props = _cfn(resource["Properties"], template, region)
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            found["dashboard"] = (props["DashboardName"], json.loads(props["DashboardBody"]))
            continue
        found[props["AlarmName"]] = _normal(props)
    return found


def _normal(props: dict[str, Any]) -> dict[str, Any]:
    """An alarm as the API's members, the form both outputs are compared in."""
    keep = {k: v for k, v in props.items() if k not in ("Metrics", "Dimensions")}
    if "Dimensions" in props:
        keep["Dimensions"] = {d["Name"]: d["Value"] for d in props["Dimensions"]}
    if "Metrics" in props:
        keep["Metrics"] = [
            {
                **{k: v for k, v in q.items() if k != "MetricStat"},
                **(
                    {
                        "Namespace": q["MetricStat"]["Metric"]["Namespace"],
                        "MetricName": q["MetricStat"]["Metric"]["MetricName"],
                        "Dimensions": {
                            d["Name"]: d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"]
                        },
                        "Period": q["MetricStat"]["Period"],
                        "Stat": q["MetricStat"]["Stat"],
                    }
                    if "MetricStat" in q
                    else {}
                ),
            }
            for q in props["Metrics"]
        ]
    return keep


# --- Terraform, resolved for one Region -----------------------------------------------------------


def _tf_string(text: str, doc: dict[str, Any]) -> Any:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if m := re.fullmatch(r'var\.(\w+)\["([a-z0-9-]+)"\]', expr):
            return str(_tf_var(m.group(1), doc))
        if m := re.fullmatch(r"var\.(\w+)", expr):
            return str(_tf_var(m.group(1), doc))
        if re.fullmatch(r"data\.aws_partition\.\w+\.partition", expr):
            return PARTITION
        if re.fullmatch(r"data\.aws_caller_identity\.\w+\.account_id", expr):
            return ACCOUNT
        raise AssertionError(f"unknown interpolation {expr}")

    resolved = re.sub(r"(?<!\$)\$\{([^}]+)\}", one, text)
    resolved = resolved.replace("$${", "${").replace("%%{", "%{")
    whole = re.fullmatch(r"\$\{([^}]+)\}", text)
    if whole and not whole.group(1).startswith("data."):
        return _number(resolved)  # a whole-string interpolation keeps the variable's type
    return resolved


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def _tf_var(name: str, doc: dict[str, Any]) -> Any:
    cfn_name = "".join(part.capitalize() for part in name.split("_"))
    return INPUTS.get(cfn_name, doc["variable"][name].get("default"))


def _tf(value: Any, doc: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _tf_string(value, doc)
    if isinstance(value, dict):
        return {k: _tf(v, doc) for k, v in value.items()}
    if isinstance(value, list):
        return [_tf(v, doc) for v in value]
    return value


def _api(args: dict[str, Any]) -> dict[str, Any]:
    """Terraform arguments back to the API's members (snake_case to CamelCase)."""
    names = {
        "alarm_name": "AlarmName", "alarm_description": "AlarmDescription",
        "alarm_rule": "AlarmRule", "evaluation_periods": "EvaluationPeriods",
        "datapoints_to_alarm": "DatapointsToAlarm", "treat_missing_data": "TreatMissingData",
        "threshold": "Threshold", "threshold_metric_id": "ThresholdMetricId",
        "comparison_operator": "ComparisonOperator", "namespace": "Namespace",
        "metric_name": "MetricName", "period": "Period", "statistic": "Statistic",
        "extended_statistic": "ExtendedStatistic", "dimensions": "Dimensions",
        "id": "Id", "expression": "Expression", "label": "Label", "return_data": "ReturnData",
        "stat": "Stat",
    }  # fmt: skip
    found: dict[str, Any] = {}
    for key, value in args.items():
        if key in META_ARGS:
            continue
        if key == "metric_query":
            found["Metrics"] = [
                {
                    **{names[k]: v for k, v in q.items() if k != "metric"},
                    **({names[k]: v for k, v in q["metric"].items()} if "metric" in q else {}),
                }
                for q in value
            ]
        else:
            found[names[key]] = value
    return found


def _tf_alarms(doc: dict[str, Any], region: str) -> dict[str, Any]:
    provider = next(f"aws.{p['alias']}" for p in doc["provider"]["aws"] if p["region"] == region)
    found = {}
    for kind, resources in doc["resource"].items():
        for written in resources.values():
            if written["provider"] != provider:
                continue
            args = _tf(written, doc)
            if kind == "aws_cloudwatch_dashboard":
                found["dashboard"] = (args["dashboard_name"], json.loads(args["dashboard_body"]))
            else:
                found[args["alarm_name"]] = _api(args)
    return found


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SLOS, CAPACITY, None], ids=["slos", "capacity", "defaults"])
def test_terraform_and_cloudformation_describe_the_same_alarms(path: Path | None) -> None:
    stack = build_stack(load_config(path, check_residency=False), RUNBOOKS)
    template, doc = to_template(stack), to_terraform(stack)
    assert [p["region"] for p in doc["provider"]["aws"]] == list(stack.regions)
    for region in stack.regions:
        cfn, tf = _cfn_alarms(template, region), _tf_alarms(doc, region)
        assert set(cfn) == set(tf)
        for name in cfn:
            assert cfn[name] == tf[name], (region, name)
        assert cfn["dashboard"][0] == f"agentkit-{region}"
        assert cfn["dashboard"] == tf["dashboard"]  # the same widgets, metrics and alarm ARNs


def test_argument_names_are_the_aws_provider_s() -> None:
    doc = to_terraform(build_stack(load_config(SLOS, check_residency=False), RUNBOOKS))
    resources = doc["resource"]
    assert set(resources) == {
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_composite_alarm",
        "aws_cloudwatch_dashboard",
    }
    allowed = {
        "aws_cloudwatch_metric_alarm": METRIC_ALARM_ARGS,
        "aws_cloudwatch_composite_alarm": COMPOSITE_ARGS,
        "aws_cloudwatch_dashboard": DASHBOARD_ARGS,
    }
    aliases = {f"aws.{p['alias']}" for p in doc["provider"]["aws"]}
    addresses = {f"{kind}.{name}" for kind, found in resources.items() for name in found}
    for kind, found in resources.items():
        for name, args in found.items():
            assert re.fullmatch(r"[a-z_][a-z0-9_]*", name)
            assert set(args) <= allowed[kind] | META_ARGS, (kind, set(args) - allowed[kind])
            assert args["provider"] in aliases
            assert set(args.get("depends_on", [])) <= addresses
            for query in args.get("metric_query", []):
                assert set(query) <= METRIC_QUERY_ARGS
                assert set(query.get("metric", {})) <= METRIC_ARGS
    for source in ("aws_partition", "aws_caller_identity"):
        assert {f"aws.{k}" for k in doc["data"][source]} == aliases


def test_literal_text_is_escaped_for_terraform() -> None:
    doc = to_terraform(build_stack(load_config(SLOS, check_residency=False), RUNBOOKS))
    alarms = doc["resource"]["aws_cloudwatch_composite_alarm"]
    description = alarms["agent_slo_burn__us_east_1"]["alarm_description"]
    assert "${" not in description.replace("$${", "")
    signals = doc["resource"]["aws_cloudwatch_metric_alarm"]
    # triggers' descriptions say "${source}": literal text, not a Terraform reference
    texts = [a["alarm_description"] for a in signals.values()]
    assert any("$${source}" in t for t in texts)
    assert not any(re.search(r"(?<!\$)\$\{source\}", t) for t in texts)


def test_the_cli_writes_terraform_json_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "observe.tf.json"
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "--format", "terraform", "-c", str(SLOS), "--out", str(out)])
    assert exited.value.code in (0, None)
    doc = json.loads(out.read_text())
    assert "slo_dr_advisor__us_west_2" in doc["resource"]["aws_cloudwatch_composite_alarm"]
    before = out.read_text()
    bad = tmp_path / "agentkit.yaml"
    bad.write_text("slos:\n  - {capability: dr-advisor}\n")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "--format", "terraform", "-c", str(bad), "--out", str(out)])
    assert exited.value.code == 2
    assert out.read_text() == before  # the earlier file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agentkit.yaml", "observe.tf.json"]
    wrong = tmp_path / "observe.json"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "--format", "terraform", "-c", str(SLOS), "--out", str(wrong)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "observe.tf.json" in err
    assert not wrong.exists()
