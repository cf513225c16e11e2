"""The packages import only downstream along the data flow, and no module imports itself back.

Layers, each importing only the ones before it:

    config -> inputs -> glm -> inference -> labels -> outputs -> figures -> report

``glmreport.errors``, ``glmreport.resources`` and ``glmreport._version`` may be imported
everywhere. ``pipeline`` (the stage order) may import every layer; only
``cli`` and the top-level ``glmreport`` import ``pipeline``. ``tasks`` (what worker processes
run) may import config, inputs and glm, and only ``pipeline`` imports it. ``datasets``
(synthetic data for the demo, the examples and the tests) may import config, inputs, glm and
outputs. ``cli`` may import anything. Every import counts, at module level and inside functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import glmreport

PACKAGE = Path(glmreport.__file__).resolve().parent

LAYERS = ("config", "inputs", "glm", "inference", "labels", "outputs", "figures", "report")
#: Imported by any module.
SHARED = ("glmreport.errors", "glmreport.resources", "glmreport._version")
#: What the parts outside the layers may import (a part always imports itself).
OTHERS = {
    "pipeline": (*LAYERS, "tasks"),
    "tasks": ("config", "inputs", "glm"),
    "datasets": ("config", "inputs", "glm", "outputs"),
    "cli": (*LAYERS, "pipeline", "datasets"),
    "__main__": ("cli",),
    "errors": (),
    "resources": (),
    "_version": (),
    "glmreport": (*LAYERS, "pipeline"),  # the package's lazy public API
}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str
    path: Path
    line: int
    text: str

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root.parent)}:{self.line}: {self.text}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _base(node: ast.ImportFrom, name: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def imports(root: Path) -> Iterator[Edge]:
    """Every import of a module of the package ``root`` by a module of it."""
    modules = _modules(root)
    top = root.name
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _base(node, name, path)
                # ``from pkg import module``: the module; ``from module import name``: the module
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            else:
                continue
            text = ast.get_source_segment(source, node) or ""
            text = " ".join(text.split())
            for target in dict.fromkeys(targets):
                if target == top or target.startswith(top + "."):
                    yield Edge(name, target, path, node.lineno, text)


def part(module: str) -> str:
    """``glmreport.inference.rft.correction`` -> ``inference``; ``glmreport`` -> ``glmreport``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_violations(root: Path) -> list[str]:
    """One line per import that goes against the layers."""
    out = []
    for edge in imports(root):
        src, dst = part(edge.source), part(edge.target)
        if edge.target in SHARED or src == dst:
            continue
        if src in LAYERS:
            allowed = LAYERS[: LAYERS.index(src)]
        else:
            allowed = OTHERS.get(src, ())
        if dst not in allowed:
            rule = "nothing but errors/resources" if not allowed else ", ".join(allowed)
            out.append(
                f"{edge.where(root)}  [{edge.source} ({src}) imports {edge.target} ({dst}); "
                f"{src} may import {rule}]"
            )
    return out


def cycles(root: Path) -> list[str]:
    """One line per import cycle between modules (Tarjan's strongly connected components)."""
    graph: dict[str, list[Edge]] = {}
    for edge in imports(root):
        graph.setdefault(edge.source, []).append(edge)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph.get(node, []):
            if edge.target not in index:
                visit(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    out = []
    for component in components:
        members = set(component)
        if len(members) == 1 and not any(e.target in members for e in graph.get(component[0], [])):
            continue
        path = _shortest_cycle(min(members), members, graph)
        out.append(
            f"import cycle between {', '.join(sorted(members))}, e.g.:\n    "
            + "\n    ".join(e.where(root) for e in path)
        )
    return out


def _shortest_cycle(start: str, members: set[str], graph: dict[str, list[Edge]]) -> list[Edge]:
    """The edges of a shortest cycle through ``start`` inside one strongly connected component."""
    came: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in graph.get(node, []):
                if edge.target == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    return path
                if edge.target in members and edge.target not in came:
                    came[edge.target] = edge
                    following.append(edge.target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def test_every_import_goes_downstream():
    problems = layer_violations(PACKAGE)
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_import_cycles():
    problems = cycles(PACKAGE)
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_known_part():
    unknown = {part(m) for m in _modules(PACKAGE)} - set(LAYERS) - set(OTHERS)
    assert not unknown, f"modules outside the layers and the known parts: {sorted(unknown)}"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def bad_package(tmp_path: Path) -> Path:
    """A package with an upstream import inside a function and a cycle."""
    root = tmp_path / "glmreport"
    _write(root, "__init__.py", "")
    _write(root, "errors.py", "")
    _write(root, "glm/__init__.py", "")
    _write(root, "glm/fit.py", "def f():\n    from ..report import build\n")
    _write(root, "report/__init__.py", "")
    _write(root, "report/build.py", "from ..glm import fit\nfrom ..errors import x\n")
    _write(root, "inference/__init__.py", "")
    _write(root, "inference/a.py", "from . import b\n")
    _write(root, "inference/b.py", "from .a import f\n")
    _write(root, "inference/c.py", "import glmreport.pipeline.run\n")
    return root


def test_checks_find_upstream_imports_and_cycles(bad_package: Path):
    problems = layer_violations(bad_package)
    assert len(problems) == 2
    assert problems[0].startswith("glmreport/glm/fit.py:2: from ..report import build")
    assert "glm may import config, inputs" in problems[0]
    assert problems[1].startswith("glmreport/inference/c.py:1: import glmreport.pipeline.run")
    found = cycles(bad_package)
    assert len(found) == 2
    assert any(
        "glmreport.glm.fit, glmreport.report.build" in c
        and "glmreport/glm/fit.py:2: from ..report import build" in c
        and "glmreport/report/build.py:1: from ..glm import fit" in c
        for c in found
    )
    assert any(
        "glmreport.inference.a, glmreport.inference.b" in c
        and "glmreport/inference/b.py:1: from .a import f" in c
        for c in found
    )
