"""The package's import structure: the library imports without Lightning, and no module imports itself back."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import attngan

PACKAGE_DIR = Path(attngan.__file__).resolve().parent
FRAMEWORKS = ("lightning", "pytorch_lightning")


LIBRARY = ["attngan.pipeline", "attngan.checkpoint", "attngan.evaluation", "attngan.models", "attngan.losses"]

# In one fresh interpreter, each module in turn: what is loaded before it is free of the framework (else the
# earlier one failed), so whatever framework module appears after an import came with that import.
_PROBE = """
import importlib, json, sys
def framework():
    return sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r} or m.split('.')[:2] == ['attngan', 'lit'])
found = {{}}
for module in {modules!r}:
    importlib.import_module(module)
    found[module] = framework()
    if found[module]:
        break
print(json.dumps(found))
"""


def test_library_imports_without_lightning() -> None:
    code = _PROBE.format(frameworks=FRAMEWORKS, modules=LIBRARY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(found) == LIBRARY, f"`import {list(found)[-1]}` loads the training framework: {found}"
    assert not any(found.values()), found


# ------------------------------------------------------------------------------------------ cycles
def package_modules(directory: Path = PACKAGE_DIR, prefix: str = "attngan") -> dict[str, Path]:
    """Every module of the package (found with pkgutil, nothing imported): name -> source file."""
    modules = {prefix: directory / "__init__.py"}
    for info in pkgutil.iter_modules([str(directory)]):
        name = f"{prefix}.{info.name}"
        if info.ispkg:
            modules.update(package_modules(directory / info.name, name))
        else:
            modules[name] = directory / f"{info.name}.py"
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (never executed, so never part of a cycle)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports, at module level and inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def nearest(target: str) -> str | None:  # `import attngan.x.Thing` -> the module that holds it
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [nearest(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else nearest(base)
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t is not None and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path ``a -> b -> ... -> a``) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for group in groups:
        start = min(group)
        # shortest path from start back to start inside the group (breadth first)
        paths = {succ: [start, succ] for succ in sorted(graph[start] & group)}
        queue = list(paths)
        while start not in paths and queue:
            node = queue.pop(0)
            for succ in sorted(graph[node] & group):
                if succ not in paths:
                    paths[succ] = paths[node] + [succ]
                    queue.append(succ)
        cycles.append(paths[start])
    return cycles


def test_find_cycles_reports_the_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from attngan.errors import ConfigError\n"
        "def f():\n    from attngan.models import generator\n    import attngan.text.vocabulary\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from attngan.lit import AttnGANModule\n"
        "from . import tokenizer\n"
    )
    modules = package_modules()
    assert imported_modules("attngan.text.mod", source, modules) == {
        "attngan.errors",
        "attngan.models.generator",
        "attngan.text.vocabulary",
        "attngan.text.tokenizer",
    }


def test_no_import_cycle_among_attngan_modules() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among attngan modules:\n" + "\n".join(" -> ".join(c) for c in cycles)
