"""The package's structure: folders in data-flow order, no module importing one above it, no import cycles
(imports inside functions and under TYPE_CHECKING count), a small package root, and no task branching outside
the task modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "lstmtext"
# Bottom to top: a module may import modules of its own layer or below.
LAYERS = [
    ("lstmtext", "lstmtext.errors", "lstmtext.config", "lstmtext.utils"),
    ("lstmtext.data",),
    ("lstmtext.preprocess",),
    ("lstmtext.encoding",),
    ("lstmtext.models",),
    ("lstmtext.reports",),
    ("lstmtext.tasks",),
    ("lstmtext.training",),
    ("lstmtext.inference",),
    ("lstmtext.explain",),
    ("lstmtext.pipeline",),
    ("lstmtext.classifier",),
    ("lstmtext.experiments",),
    ("lstmtext.server",),
    ("lstmtext.cli", "lstmtext.__main__"),
]
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every package module ``name`` imports, wherever the import statement is."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_pkg else name.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def _layer(module: str) -> int:
    best = None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "lstmtext" and module.startswith(prefix + ".")):
                best = i
    assert best is not None, f"{module} is in no layer: add its folder to LAYERS"
    return best


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def test_no_module_imports_a_layer_above_it():
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
              for a, targets in _graph().items() for b in targets if _layer(b) > _layer(a)]
    assert upward == []


def test_no_import_cycles():
    graph = _graph()
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_only_the_public_api_errors_and_config_sit_at_the_package_root():
    assert {p.name for p in PACKAGE.glob("*.py")} == ROOT_MODULES


def test_nothing_outside_the_task_modules_asks_which_task_a_run_is():
    # also the forms a structure review found that the first pattern missed: a task's sections, a name compared
    # with a task's, a default task written out
    pattern = re.compile(r"\.task\s*[!=]=|\btask\s*[!=]=\s*[\"']|isinstance\([^)]*labels[^)]*dict|is_aspect"
                         r"|[\"'](classify|absa|multilabel)[\"']\s+(not\s+)?in\s+[\w.()]*sections"
                         r"|[!=]=\s*[\"'](classify|absa|multilabel)[\"']|[\"'](classify|absa|multilabel)[\"']\s*[!=]=")
    found = [f"{path.relative_to(SRC)}:{i}: {line.strip()}"
             for path in PACKAGE.rglob("*.py") if "tasks" not in path.relative_to(PACKAGE).parts
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if pattern.search(line)]
    assert found == []
