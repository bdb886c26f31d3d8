"""The packages of `functions/` form layers: the shared models, codecs, lifecycle (`core`) and stores at the bottom,
features above them, the entry points on top. Every import counts, including those inside functions and under
TYPE_CHECKING: no module imports itself back through others, and no two packages import each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
# Each package may import only from the packages listed before it (and itself).
LAYERS = [
    "shared",
    "core",
    "stores",
    "topics",
    "limits",
    "flow",
    "queues",
    "delivery",
    "keys",
    "messages",
    "events",
    "schedules",
    "composition",
    "api",
    "worker",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in FUNCTIONS.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """The `functions` modules a file imports, wherever the import statement is."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name if name in MODULES else node.module for name in names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] == "functions")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "functions"


GRAPH = {module: set(_imports(path)) - {module} for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_package_has_a_layer() -> None:
    packages = {_package(module) for module in MODULES} - {"functions"}
    assert packages == set(LAYERS)


def test_no_module_imports_itself_back() -> None:
    assert _cycles(GRAPH) == []


def test_packages_import_only_downward() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _package(module) in LAYERS
        and _package(target) in LAYERS
        and LAYERS.index(_package(target)) > LAYERS.index(_package(module))
    )
    assert upward == []


def test_no_two_packages_import_each_other() -> None:
    edges = {(_package(m), _package(t)) for m, targets in GRAPH.items() for t in targets if _package(m) != _package(t)}
    assert sorted((a, b) for a, b in edges if (b, a) in edges) == []


@pytest.mark.parametrize("graph", [{"a": {"b"}, "b": {"c"}, "c": {"a"}}, {"x": {"y"}, "y": {"x"}}])
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]]) -> None:
    assert len(_cycles(graph)) == 1
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
