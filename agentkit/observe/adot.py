"""``agentkit observe export --format adot``: the ``awsemf`` exporter settings that make the
alarms and the dashboard see agentkit's metrics.

CloudWatch matches a metric's dimensions exactly: an alarm on ``agentkit.answers`` with
``{gen_ai.agent.name, agentkit.outcome}`` reads only the series published with exactly those two
dimensions. agentkit's points carry more attributes than the alarms filter on (an error answer
also has ``error.type`` or ``agentkit.stop_reason``; a Knowledge Base call ``cloud.region``), so
an OTLP pipeline that made every attribute a dimension would publish series no alarm reads. The
ADOT collector's ``awsemf`` exporter publishes, with ``dimension_rollup_option:
NoDimensionRollup``, only the dimension sets its ``metric_declarations`` list for a metric; a set
may be a subset of a point's attributes, and ``[]`` publishes the metric without dimensions
(opentelemetry-collector-contrib, exporter/awsemfexporter/README.md, "metric_declaration", and
metric_declaration.go, ``ExtractDimensions``: a set is published for a point that has every
name in it). Each ``metric_name_selectors`` entry is a regular expression (Go RE2) matched
against the metric name, so the names are anchored and their dots escaped.

The declarations come from the :class:`~agentkit.observe.model.Stack` the other formats
render: every metric in the ``MetricsNamespace`` that an alarm or a dashboard line reads, with
every set of dimension names it filters on. Nothing here decides what an alarm watches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from agentkit.observe.alarms import SIGNAL_METRIC
from agentkit.observe.model import NAMESPACE, Stack

EXPORTER = "awsemf/agentkit"
ROLLUP = "NoDimensionRollup"
# How the dashboard body (a Sub) spells agentkit's namespace.
DASHBOARD_NAMESPACE = "${" + NAMESPACE.name + "}"

DimensionSets = dict[str, set[tuple[str, ...]]]  # metric name -> sorted dimension-name tuples


def declared_sets(stack: Stack) -> DimensionSets:
    """Every agentkit metric the stack's alarms and dashboard read, with each set of dimension
    names (sorted) that one of them filters on. ``agentkit.signal`` is left out: the team's
    detectors publish it, not agentkit (the header says how to add it)."""
    found: DimensionSets = {}
    for metric, names in (*_alarm_metrics(stack), *_dashboard_metrics(stack)):
        if metric != SIGNAL_METRIC:
            found.setdefault(metric, set()).add(tuple(sorted(names)))
    return found


def _alarm_metrics(stack: Stack) -> Iterator[tuple[str, list[str]]]:
    for alarm in stack.alarms:
        props = alarm.props
        queries = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        for metric in (props, *queries):
            if "MetricName" in metric and metric.get("Namespace") == NAMESPACE:
                yield metric["MetricName"], [d["Name"] for d in metric.get("Dimensions", [])]


def _dashboard_metrics(stack: Stack) -> Iterator[tuple[str, list[str]]]:
    """A metric line is ``[namespace, name, dim1, value1, ..., {options}]``."""
    for widget in json.loads(stack.dashboard_body.text)["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if line and line[0] == DASHBOARD_NAMESPACE:
                pairs = [part for part in line[2:] if isinstance(part, str)]
                yield line[1], pairs[::2]


def namespace(stack: Stack) -> str:
    """The ``MetricsNamespace`` parameter's default: what the alarms read unless told."""
    default = next(p.default for p in stack.parameters if p.name == NAMESPACE.name)
    assert default is not None
    return default


def selector(metric: str) -> str:
    """The RE2 expression that matches ``metric`` and nothing else."""
    return f"^{re.escape(metric)}$"


def exporter(stack: Stack) -> dict[str, Any]:
    """The ``awsemf`` exporter's settings: one declaration per metric, with all its sets."""
    sets = declared_sets(stack)
    return {
        "namespace": namespace(stack),
        "dimension_rollup_option": ROLLUP,
        "metric_declarations": [
            {
                "dimensions": [list(names) for names in sorted(sets[metric])],
                "metric_name_selectors": [selector(metric)],
            }
            for metric in sorted(sets)
        ],
    }


HEADER = """\
# agentkit observe export --format adot: the ADOT collector's awsemf exporter settings that
# publish agentkit's metrics with exactly the dimension sets the alarms and the dashboard of
# `agentkit observe export --format cloudformation|terraform` read (CloudWatch matches an
# alarm's dimensions exactly; NoDimensionRollup publishes only the sets declared here).
# Regenerate it whenever agentkit.yaml's slos: or the runbooks change.
#
# Use it in the collector that receives agentkit's OTLP metrics, either by passing it as a
# second file (the collector merges them: --config collector.yaml --config this.yaml) or by
# copying the exporter into collector.yaml. The rest of the collector configuration:
#
#   receivers:
#     otlp:
#       protocols:
#         http:
#           endpoint: 0.0.0.0:4318     # agentkit exports OTLP over HTTP
#   exporters:
#     {exporter}:                  # this file; add region: and log_group_name: as you need
#   service:
#     pipelines:
#       metrics:
#         receivers: [otlp]
#         exporters: [{exporter}]
#
# If you change the namespace, deploy the alarms with the same MetricsNamespace parameter.
# {signal} is your detectors' metric, not agentkit's: if they send it through this
# collector, add a declaration with metric_name_selectors: ['^{signal_re}$'] and
# dimensions: [['signal']].
# The latency alarms use percentiles (p99, PR(:t)) of histograms: awsemf publishes an
# explicit-bucket histogram as a statistic set (count, sum, min, max), which has no
# percentiles, and an exponential histogram as values and counts, which has; have the SDK
# export exponential histograms with delta temporality
# (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram,
# OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta); see docs/telemetry.md.
"""


def render(stack: Stack) -> str:
    """The collector configuration fragment: the header, then ``exporters: {EXPORTER}: ...``
    (YAML; flow lists and single-quoted strings, so the regular expressions need no escaping)."""
    settings = exporter(stack)
    lines = [
        HEADER.format(
            exporter=EXPORTER, signal=SIGNAL_METRIC, signal_re=re.escape(SIGNAL_METRIC)
        ).rstrip("\n"),
        "exporters:",
        f"  {EXPORTER}:",
        f"    namespace: {_quoted(settings['namespace'])}",
        f"    dimension_rollup_option: {settings['dimension_rollup_option']}",
        "    metric_declarations:",
    ]
    for rule in settings["metric_declarations"]:
        lines.append(f"      - metric_name_selectors: {_flow(rule['metric_name_selectors'])}")
        lines.append("        dimensions:")
        lines += [f"          - {_flow(names)}" for names in rule["dimensions"]]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """A YAML single-quoted scalar: backslashes stay as they are, a quote doubles."""
    return "'" + text.replace("'", "''") + "'"


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_quoted(item) for item in items) + "]"
