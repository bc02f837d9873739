"""Resuming (``ckpt_path=auto``, a requeued SLURM job) and ``trainer.deterministic=true`` runs, in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers.ranks import fingerprint
from helpers.training import TINY_ATTNGAN, TINY_DATA, run_train


def test_resolve_ckpt_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attngan.lit.strategy import resolve_ckpt_path

    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    assert resolve_ckpt_path(None, tmp_path) is None
    assert resolve_ckpt_path("auto", tmp_path) is None  # nothing to resume yet: a fresh start
    assert resolve_ckpt_path("some/where.ckpt", tmp_path) == "some/where.ckpt"
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"x")
    assert resolve_ckpt_path("auto", tmp_path) == str(last)
    assert resolve_ckpt_path(None, tmp_path) is None  # not requeued: a new run never resumes by itself
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert resolve_ckpt_path(None, tmp_path) == str(last)  # a requeued SLURM job carries on
    hpc = tmp_path / "hpc_ckpt_3.ckpt"  # Lightning's own SLURM requeue checkpoint, newer
    hpc.write_bytes(b"x")
    os.utime(last, (1, 1))
    assert resolve_ckpt_path(None, tmp_path) == str(hpc)


TINY_RUN = [
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def test_ckpt_path_auto_resumes_in_the_run_directory(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    common = [
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_RUN,
        "trainer.accelerator=cpu",
        "trainer.limit_train_batches=1",
        "logger=none",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "ckpt_path=auto",
    ]
    run_train(tmp_path, *common, "trainer.max_epochs=1")
    first = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert first["epoch"] == 0
    run_train(tmp_path, *common, "trainer.max_epochs=2")
    second = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert second["epoch"] == 1
    assert second["attngan"]["generator_step"] == 2  # one step per epoch: the second run continued the first


def test_seed_and_deterministic_give_identical_runs(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    states = []
    for name in ("a", "b"):
        run_train(
            tmp_path / name,
            *TINY_ATTNGAN,
            *TINY_DATA,
            *TINY_RUN,
            "trainer.accelerator=cpu",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=2",
            "trainer.deterministic=true",
            "data.num_workers=1",
            "logger=none",
            "seed=7",
            f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        )
        checkpoint = torch.load(
            tmp_path / name / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
        )
        states.append(checkpoint["state_dict"])
    for prefix in ("generator.", "generator_ema.", "discriminators."):
        assert fingerprint(states[0], prefix) == fingerprint(states[1], prefix), prefix


def test_a_checkpoint_of_the_older_data_modules_resumes_its_data_state(tmp_path: Path) -> None:
    """Lightning keys the data module's state by class name; checkpoints written by the per-dataset modules
    (ShapesDataModule, ...) resume their state (vocabulary, sampler) under the one CaptionDataModule."""
    from attngan.lit.checkpoint import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    state = {"vocab": ["<pad>", "red"], "sampler": {"epoch": 3}}
    io.save_checkpoint({"state_dict": {}, "ShapesDataModule": state}, tmp_path / "old.ckpt")
    loaded = io.load_checkpoint(tmp_path / "old.ckpt")
    assert loaded["CaptionDataModule"] == state and "ShapesDataModule" not in loaded
    io.save_checkpoint({"state_dict": {}, "CaptionDataModule": {"vocab": ["<pad>"]}}, tmp_path / "new.ckpt")
    assert io.load_checkpoint(tmp_path / "new.ckpt")["CaptionDataModule"] == {"vocab": ["<pad>"]}
