"""A single run composes its config once: the checks, the run directory and the task all use that composition."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl

from helpers.cli import run_in_process


@pytest.fixture
def compositions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The config names Hydra composes from now on, one entry per composition."""
    composed: list[str] = []
    load = ConfigLoaderImpl.load_configuration

    def counted(self, config_name, *args, **kwargs):
        composed.append(config_name)
        return load(self, config_name, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted)
    return composed


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ATTNGAN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


def test_a_training_run_composes_once_and_runs_as_hydra_runs_it(tmp_path: Path, compositions) -> None:
    # the checks pass; the task starts in its run directory and stops at the data that is not there
    run = tmp_path / "run"
    argv = (
        "attngan-train",
        "experiment=shapes_damsm",
        "data=folder",
        "~data.num_images",
        f"data.root={tmp_path}/nowhere",
        f"hydra.run.dir={run}",
    )
    proc = run_in_process(argv, tmp_path, _env(tmp_path))
    assert proc.returncode == 2 and "nowhere" in proc.stderr, proc.stderr
    assert compositions == ["train"]
    # what hydra.main writes for a run: the composed config and the overrides, then the job's log
    assert (run / ".hydra" / "config.yaml").is_file() and (run / ".hydra" / "overrides.yaml").is_file()
    assert f"data.root={tmp_path}/nowhere" in (run / ".hydra" / "overrides.yaml").read_text()


def test_a_task_error_and_a_mistyped_key_cost_no_second_composition(tmp_path: Path, compositions) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    argv = ("attngan-generate", f"checkpoint={junk}", "captions=[a red circle]", f"output_dir={tmp_path}/out")
    proc = run_in_process(argv, tmp_path, _env(tmp_path))
    assert proc.returncode == 2 and "is not a checkpoint file" in proc.stderr, proc.stderr
    assert compositions == ["generate"]
    compositions.clear()
    # the closest real keys come from the config being composed, not from composing it again
    proc = run_in_process(("attngan-train", "model.lambda_dams=1"), tmp_path, _env(tmp_path))
    assert proc.returncode == 2 and "did you mean model.lambda_damsm?" in proc.stderr, proc.stderr
    assert compositions == ["train"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.ckpt"]
