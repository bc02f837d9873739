"""The library never imports the tooling (issue #26): nothing under models, losses, text, data, metrics,
checkpoint, pipeline or training imports cli, reproduce, demo, onnx or benchmarks (function-level imports
included), and reproduce trains through the library's entry, not the command line."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "attngan"
LIBRARY = ("models", "losses", "text", "data", "metrics", "checkpoint", "pipeline", "training")
TOOLING = ("cli", "reproduce", "demo", "onnx", "benchmarks")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _upward(package: str, forbidden: tuple[str, ...]) -> list[str]:
    files = sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else [SRC / f"{package}.py"]
    return [
        f"{path.relative_to(SRC)} imports {module}"
        for path in files
        for module in _imports(path)
        if module.split(".")[:1] == ["attngan"]
        and module.split(".")[1:2]
        and module.split(".")[1] in forbidden
    ]


def test_the_library_imports_no_tooling():
    assert [line for package in LIBRARY for line in _upward(package, TOOLING)] == []


def test_reproduce_does_not_import_the_command_line():
    assert _upward("reproduce", ("cli",)) == []
