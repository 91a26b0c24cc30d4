"""One-way layers and no import cycles inside agentkit/ (architecture.md, "Layers").

Every import counts, at module level or inside a function, except those under
``if TYPE_CHECKING:`` (annotations only). A module may import its own layer or any layer below.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "agentkit"

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    (  # ground: values, tables, the error tree; no I/O beyond reading files
        "agentkit._version",
        "agentkit.errors",
        "agentkit.regions",
        "agentkit.residency",
        "agentkit.yamlsource",
        "agentkit.fsutil",
        "agentkit.dependencies",
        "agentkit.paths",
        "agentkit.prompts",
        "agentkit.config",
        "agentkit.capacity.config",  # the capacity section of agentkit.yaml
        "agentkit.capacity.burndown",
        "agentkit.drill.config",  # the drill section of agentkit.yaml
        "agentkit.observe.slo",  # the slos section of agentkit.yaml
    ),
    (  # resilience and telemetry; the quota arithmetic admission control uses
        "agentkit.resilience",
        "agentkit.telemetry",
        "agentkit.capacity.bucket",
        "agentkit.capacity.accounting",
        "agentkit.capacity.formulas",
        "agentkit.guardrails.pii",  # redaction: applied before anything is stored or exported
        "agentkit.guardrails.detectors",
        "agentkit.ops",  # operator overrides: the gateway and the runtime read them
    ),
    ("agentkit.bedrock", "agentkit.emulator", "agentkit.testing"),  # model tier and stand-ins
    ("agentkit.graph", "agentkit.tools", "agentkit.guardrails"),  # the agent runtime
    (  # applications: register their tools and prompts with the runtime
        "agentkit.agents",
        "agentkit.fmea",
        "agentkit.runbooks",
        "agentkit.observe",  # alarms and dashboards from the runbooks and the configuration
        "agentkit.drill",  # FIS drills on AWS, stopped by the observe export's alarms
        "agentkit.capacity",
        "agentkit.gameday",
    ),
    (  # entry points; the release gate drives the advisor and the MCP server as clients do
        "agentkit.cli",
        "agentkit.serve",
        "agentkit.evals",
        "agentkit.__main__",
        "agentkit",
    ),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, layer = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), index
    assert layer >= 0, f"{module} is in no layer: add it to LAYERS"
    return layer


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, skipping the bodies of ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name in modules and name != module and not module.startswith(name + "."):
                    graph[module].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_inside_agentkit() -> None:
    assert cycles(import_graph()) == []


def test_imports_point_down_only() -> None:
    upward = sorted(
        f"{src} (layer {layer_of(src)}) imports {dst} (layer {layer_of(dst)})"
        for src, targets in import_graph().items()
        for dst in targets
        if layer_of(dst) > layer_of(src)
    )
    assert upward == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_emulator_shares_wire_types_never_the_gateway() -> None:
    graph = import_graph()
    reached = sorted(
        f"{src} imports {dst}"
        for src, targets in graph.items()
        if src.startswith("agentkit.emulator")
        for dst in targets
        if dst.startswith(("agentkit.bedrock.gateway", "agentkit.bedrock.stream"))
    )
    assert reached == []


def test_the_runtime_names_no_application() -> None:
    runtime = ("agentkit.graph", "agentkit.tools", "agentkit.bedrock", "agentkit.resilience")
    applications = ("agentkit.agents", "agentkit.fmea", "agentkit.runbooks", "agentkit.evals")
    reached = sorted(
        f"{src} imports {dst}"
        for src, targets in import_graph().items()
        if src.startswith(runtime)
        for dst in targets
        if dst.startswith(applications)
    )
    assert reached == []
