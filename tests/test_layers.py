"""The library never imports the tooling (issue #26, docs/ARCHITECTURE.md "Library and tooling"): nothing in
the library imports cli, reproduce, demo, onnx, compat or benchmarks (function-level imports included), and
reproduce trains through the library's entry, not the command line."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "attngan"
LIBRARY = (
    *("models", "losses", "text", "data", "metrics", "evaluation", "viz", "checkpoint", "pipeline", "hub"),
    *("training", "lit", "config", "schemas", "errors", "outputs", "progress", "version"),
)
TOOLING = ("cli", "reproduce", "demo", "onnx", "compat", "benchmarks")


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


def test_every_package_is_library_or_tooling():
    """A new package is placed on one side (and in docs/ARCHITECTURE.md's map) before it lands."""
    names = {p.stem for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    assert names - {"__init__"} - set(LIBRARY) - set(TOOLING) == set()


def test_reproduce_does_not_import_the_command_line():
    assert _upward("reproduce", ("cli",)) == []


def test_a_training_step_passes_at_most_five_attngan_files(tmp_path, tiny_damsm_checkpoint, monkeypatch):
    """``attngan-train`` -> the generator's ``optimizer.step()`` reads top-down in a handful of files (issue #26)."""
    import traceback

    import torch

    from attngan.cli.train import main
    from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER

    stacks: list[list[str]] = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        stacks.append([frame.filename for frame in traceback.extract_stack()])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    overrides = [*TINY_DATA, *TINY_TRAINER, *TINY_ATTNGAN, "trainer.limit_train_batches=1"]
    overrides += [f"model.damsm_checkpoint={tiny_damsm_checkpoint}", f"paths.root_dir={tmp_path}"]
    overrides += [f"paths.cache_dir={tmp_path.parent / 'shared-cache'}", f"hydra.run.dir={tmp_path}/run"]
    assert main(overrides) is None
    files = {
        Path(f).relative_to(SRC).as_posix() for stack in stacks for f in stack if Path(f).is_relative_to(SRC)
    }
    assert stacks and len(files) <= 5, sorted(files)
    assert {"training/entry.py", "lit/attngan_module.py"} <= files  # through the one entry and the module


def test_no_source_file_is_over_400_lines():
    """A file reads in one sitting (STYLE.md 12): split one that grows past 400 lines."""
    long = {
        p.relative_to(SRC).as_posix(): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
