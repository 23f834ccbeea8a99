"""The package's shape: no import cycles, benchmark knowledge only in the benchmark modules, pure metrics."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pixbench
from pixbench.benchmarks import REGISTRY

PACKAGE = Path(pixbench.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """pixbench modules imported anywhere in ``path``: function-level and ``TYPE_CHECKING`` imports too (a
    cycle of type imports is still two modules that each need the other)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def _cycles() -> list[list[str]]:
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
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
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    assert _cycles() == []


def test_benchmark_names_are_compared_only_in_their_own_modules():
    names = "|".join(re.escape(name) for name in REGISTRY)
    comparison = re.compile(rf"""(==|!=|\bin\b|\bnot in\b)\s*[(\[{{]?\s*["']({names})["']"""
                            rf"""|["']({names})["']\s*(==|!=)""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE / "benchmarks":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if comparison.search(line):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert offenders == []


def test_no_private_name_crosses_a_module_boundary():
    """A module uses another's public names only (a private one would tie two modules' insides together)."""
    modules = _modules()
    crossing = []
    for name, path in sorted(modules.items()):
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if not base.startswith("pixbench"):
                continue
            crossing += [f"{name}:{node.lineno} imports {base}.{alias.name}" for alias in node.names
                         if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert crossing == []
