"""The Makefile's install split: `make train` installs what the main job needs, `make test` adds the dev tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _install_specs(target: str, venv: Path) -> set[str]:
    """The package specs ``make -n target`` would install into a new ``venv`` (nothing is run)."""
    out = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {m.strip('"') for m in re.findall(r"pip install --python \S+ (-e \S+?)[\";]", out)}


@pytest.mark.parametrize("target", ["train", "reproduce"])
def test_main_job_installs_without_the_dev_extras(target: str, tmp_path: Path) -> None:
    assert _install_specs(target, tmp_path / "venv") == {"-e ."}


@pytest.mark.parametrize("target", ["test", "lint", "bench", "install"])
def test_development_targets_install_the_dev_extras(target: str, tmp_path: Path) -> None:
    assert _install_specs(target, tmp_path / "venv") == {'-e ".[dev]'}


def test_a_dev_install_counts_as_the_main_jobs_install(tmp_path: Path) -> None:
    """After `make test` installed the dev tools, `make train` installs nothing more."""
    venv = tmp_path / "venv"
    venv.mkdir()
    for stamp in (".installed", ".installed-run"):
        (venv / stamp).touch()
    assert _install_specs("train", venv) == set()
