"""The package's shape: no import cycles, benchmark knowledge only in the benchmark folders, imports that only run
down the floors (below the registry, the registry, above it), no private names across modules, and reports that
follow a result's shape, never the kind of benchmark it came from."""

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
        if PACKAGE / "benchmarks" in path.parents:
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


#: The floors below the registry: what a benchmark folder may build on (shared formats, metrics, the built-folder
#: and run machinery, the chat client and judge, results). Everything not listed here or in ``benchmarks`` is above.
BELOW_REGISTRY = ("annotation", "metrics", "builds", "runs", "chat", "judge", "problems", "jsonl", "version",
                  "outcomes", "ground_truth", "prediction_records", "prompts", "endpoints", "mask_values", "results",
                  "image_score")


def _floor(module: str) -> int:
    """0 below the registry, 1 the registry (``pixbench.benchmarks``), 2 above it."""
    parts = module.split(".")
    if len(parts) < 2:
        return 0  # the package's own __init__ (lazy re-exports for users)
    if parts[1] == "benchmarks":
        return 1
    return 0 if parts[1] in BELOW_REGISTRY else 2


def test_imports_run_only_down_the_floors():
    """Below the registry nothing imports a benchmark or what uses them; a benchmark folder builds only on what is
    below it (lazy and type-only imports count: a lazy import upwards is still a dependency upwards)."""
    modules = _modules()
    upward = []
    for name, path in sorted(modules.items()):
        for target in sorted(_imports(path, name, modules)):
            if name != "pixbench" and _floor(target) > _floor(name):
                upward.append(f"{name} (floor {_floor(name)}) imports {target} (floor {_floor(target)})")
    assert upward == []
    assert all((PACKAGE / name).exists() or (PACKAGE / f"{name}.py").exists() for name in BELOW_REGISTRY)


def _names_written(path: Path, names: set[str]) -> list[int]:
    """Lines of ``path`` holding a string constant equal to one of ``names`` (docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(getattr(node, "body", None), list) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings]


def test_no_benchmark_is_named_outside_its_folder():
    """Benchmark names and hub ids are written only under ``pixbench/benchmarks/``: everything else asks the
    registry (a fourth benchmark is one folder there and one registry line)."""
    names = {*REGISTRY, *(b.hub_id for b in REGISTRY.values())}
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}" for path in sorted(PACKAGE.rglob("*.py"))
                 if PACKAGE / "benchmarks" not in path.parents for line in _names_written(path, names)]
    assert offenders == []


def test_the_name_check_sees_a_table_keyed_by_name(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docstring naming pixmmvp is fine."""\nBASE = {"pixmmvp": 1}\n', encoding="utf-8")
    assert _names_written(sample, set(REGISTRY)) == [2]


#: The modules that print or compare results: they follow a result's shape and counts, never its benchmark's kind
#: (listing the registry's benchmarks by kind in a command's help is not a question about a result).
REPORTING = ("score_report.py", "results.py", "cli/score.py", "cli/compare.py", "cli/options.py", "score_files.py")


def test_reports_ask_no_image_or_video_question():
    kind_check = re.compile(r"""\b(result|results\[\w+\]|r|a|b|first|self)\.(probe|layout|kind)\s*(is|==|!=)"""
                            r"""|isinstance\([^)]*(ExpressionCounts|Counts|ImageBenchmark)\b"""
                            r"""|get_benchmark\([^)]*\)\.kind|REGISTRY\[[^]]*\]\.kind""")
    offenders = [f"{name}:{number}: {line.strip()}" for name in REPORTING
                 for number, line in enumerate((PACKAGE / name).read_text(encoding="utf-8").splitlines(), start=1)
                 if kind_check.search(line) and "REGISTRY.values()" not in line]  # help listing the registry
    assert offenders == []
