"""`agentkit observe export --format adot`: the awsemf exporter publishes every metric the alarms
and the dashboard read with exactly the dimension sets they filter on, declares nothing they do
not read, and each declared dimension is an attribute agentkit records on that metric."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.cli.app import main
from agentkit.config import load_config
from agentkit.emulator import Emulator
from agentkit.observe import adot
from agentkit.observe.alarms import SIGNAL_METRIC
from agentkit.observe.build import build_stack
from agentkit.observe.model import Stack, api_requests
from agentkit.runbooks import load_all
from tests.telemetry.test_exported_metrics import PRIMARY, SECONDARY, record_every_event

ROOT = Path(__file__).resolve().parents[2]
SLOS = ROOT / "examples" / "slos.yaml"
CAPACITY = ROOT / "examples" / "capacity-nova-pro.yaml"
CONFIGS = [None, SLOS, CAPACITY]
IDS = ["defaults", "slos", "capacity"]
RUNBOOKS = load_all()
# The inputs without a default when agentkit.yaml has no capacity: section.
INPUTS = {"TpmQuota": 1_000_000, "TpdQuota": 1_440_000_000, "ModelCallsPerMinuteLimit": 400}
NAMESPACE = "agentkit"  # MetricsNamespace's default, as the API receives it


def _stack(path: Path | None) -> Stack:
    return build_stack(load_config(path, check_residency=False), RUNBOOKS)


def _exported(stack: Stack) -> dict[str, Any]:
    """The awsemf exporter's settings, parsed from the rendered YAML."""
    doc = yaml.safe_load(adot.render(stack))
    assert list(doc) == ["exporters"]
    (name,) = doc["exporters"]
    assert name.split("/")[0] == "awsemf"  # the exporter type; /agentkit names this instance
    settings: dict[str, Any] = doc["exporters"][name]
    return settings


def _used(stack: Stack) -> dict[str, set[frozenset[str]]]:
    """Every (metric, dimension-name set) in agentkit's namespace that an alarm or a dashboard
    line reads, walked in the requests the CloudWatch API receives in each Region (not in the
    model the exporter walks)."""
    used: dict[str, set[frozenset[str]]] = {}

    def note(metric: str, names: list[str]) -> None:
        if metric != SIGNAL_METRIC:  # the team's detectors publish it, not agentkit
            used.setdefault(metric, set()).add(frozenset(names))

    for region in stack.regions:
        for operation, request in api_requests(stack, region, INPUTS):
            if operation == "PutMetricAlarm":
                stats = [
                    q["MetricStat"]["Metric"]
                    for q in request.get("Metrics", [])
                    if "MetricStat" in q
                ]
                for metric in (request, *stats):
                    if metric.get("Namespace") == NAMESPACE:
                        note(
                            metric["MetricName"], [d["Name"] for d in metric.get("Dimensions", [])]
                        )
            elif operation == "PutDashboard":
                for widget in json.loads(request["DashboardBody"])["widgets"]:
                    for line in widget["properties"].get("metrics", []):
                        if line and line[0] == NAMESPACE:
                            plain = [p for p in line[2:] if isinstance(p, str)]
                            note(line[1], plain[::2])
    return used


def _declared(settings: dict[str, Any], metrics: set[str]) -> dict[str, set[frozenset[str]]]:
    """Metric -> declared sets, each rule's selectors matched against ``metrics`` as awsemf
    matches them (an unanchored search, so the selectors must anchor themselves)."""
    declared: dict[str, set[frozenset[str]]] = {}
    for rule in settings["metric_declarations"]:
        selected = {m for m in metrics for s in rule["metric_name_selectors"] if re.search(s, m)}
        assert len(selected) == 1, (rule, selected)
        declared.setdefault(selected.pop(), set()).update(frozenset(d) for d in rule["dimensions"])
    return declared


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
def test_the_declared_sets_are_exactly_the_ones_the_alarms_and_the_dashboard_read(
    path: Path | None,
) -> None:
    stack = _stack(path)
    used = _used(stack)
    assert {"agentkit.answers", "agentkit.gateway.requests"} <= set(used)
    settings = _exported(stack)
    assert _declared(settings, set(used)) == used
    rules = settings["metric_declarations"]
    assert len(rules) == len(used)  # one rule per metric, with every set it needs


@pytest.mark.parametrize("path", CONFIGS, ids=IDS)
def test_the_yaml_has_the_shape_awsemf_expects(path: Path | None) -> None:
    settings = _exported(_stack(path))
    assert settings["namespace"] == NAMESPACE
    assert settings["dimension_rollup_option"] == "NoDimensionRollup"
    for rule in settings["metric_declarations"]:
        assert set(rule) == {"dimensions", "metric_name_selectors"}
        for names in rule["dimensions"]:
            # awsemf drops a set of more than 10 (metric_declaration.go) and dedups within one
            assert len(names) <= 10
            assert len(set(names)) == len(names)
            assert all(isinstance(n, str) and n for n in names)
        for selector in rule["metric_name_selectors"]:
            assert selector.startswith("^")
            assert selector.endswith("$")


def test_selectors_match_the_dotted_name_and_nothing_else() -> None:
    selector = adot.selector("agentkit.answers")
    assert selector == r"^agentkit\.answers$"
    assert re.search(selector, "agentkit.answers")
    for other in ("agentkitXanswers", "agentkit.answers.duration", "x.agentkit.answers"):
        assert not re.search(selector, other)


@pytest.mark.emulator(regions=[PRIMARY, SECONDARY])
def test_every_declared_set_is_published_for_a_point_agentkit_records(
    bedrock_emulator: Emulator, tmp_path: Path
) -> None:
    """awsemf publishes a declared set for a point that has every name in it
    (metric_declaration.go, ExtractDimensions): each set must fit some recorded point."""
    recorded = record_every_event(bedrock_emulator, tmp_path)
    problems: list[str] = []
    for path in CONFIGS:
        stack = _stack(path)
        declared = _declared(_exported(stack), set(_used(stack)))
        for metric, sets in sorted(declared.items()):
            _, points = recorded.metrics.get(metric, ("", []))
            for names in sets:
                if not any(names <= set(point) for point in points):
                    seen = sorted({k for p in points for k in p})
                    problems.append(f"{path}: {metric} declares {sorted(names)}; seen {seen}")
    assert not problems, "; ".join(problems)


def test_the_cli_writes_the_fragment_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "awsemf.yaml"
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "--format", "adot", "-c", str(SLOS), "--out", str(out)])
    assert exited.value.code in (0, None)
    text = out.read_text()
    assert text.startswith("# agentkit observe export --format adot")
    assert "receivers: [otlp]" in text  # the header shows the pipeline
    assert yaml.safe_load(text)["exporters"]["awsemf/agentkit"]["metric_declarations"]
    bad = tmp_path / "agentkit.yaml"
    bad.write_text("slos:\n  - {capability: dr-advisor}\n")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["observe", "export", "--format", "adot", "-c", str(bad), "--out", str(out)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("agentkit: error: ")
    assert err.count("\n") == 1
    assert out.read_text() == text  # the earlier file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agentkit.yaml", "awsemf.yaml"]
