"""Smoke test of ``make bench-quick``: every benchmark path runs and reports (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # about a minute: a separate process running `benchmarks/run.py --quick`
def test_quick_benchmark_runs_and_reports(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--quick",
            "--output",
            str(output),
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert printed == written  # one JSON object per line, on stdout and in the results file

    assert written[0]["type"] == "environment" and written[0]["quick"] is True
    results = {(r["config"], r["variant"]): r for r in written if r["type"] == "result"}
    measured = {key for key, r in results.items() if r["status"] == "ok"}
    failed = {key: r.get("reason") for key, r in results.items() if r["status"] == "error"}
    assert not failed, failed
    for key in [
        ("shapes_attngan", "fp32_eager"),
        ("shapes_attngan", "bf16"),
        ("shapes_attngan", "channels_last"),
        ("shapes_attngan", "cached_text"),
        ("shapes_attngan", "combined_eager"),
        ("shapes_damsm", "fp32_eager"),
        ("shapes_damsm", "bf16"),
        ("shapes_generate", "fp32_eager"),
        ("shapes_data", "workers_0"),
        ("cub_data", "workers_0"),
    ]:
        assert key in measured, key
    # the headline fields of a training-step result
    base = results[("shapes_attngan", "fp32_eager")]
    for field in ("steps_per_s", "images_per_s", "peak_memory_mb", "flops_per_step", "achieved_tflops"):
        assert base[field] > 0, field
    assert base["ratio_vs_fp32_eager"] == 1.0
    assert results[("shapes_attngan", "bf16")]["ratio_vs_fp32_eager"] > 0
    assert results[("shapes_attngan", "cached_text")]["text_cache"]["hits"] > 0
    assert set(results[("cub_data", "workers_0")]["per_image_ms"]) == {
        "decode",
        "bbox_crop",
        "resize_crop_flip_to_tensor",
        "whole_sample",
    }
    # what --quick leaves out is reported, with the reason
    assert results[("shapes_attngan", "compile")]["status"] == "skipped"
    assert results[("cub_attngan2", "fp32_eager")]["status"] == "skipped"
    assert "--quick" in results[("cub_attngan2", "fp32_eager")]["reason"]
    # bf16 losses against fp32 over the first steps
    parity = [r for r in written if r["type"] == "parity"]
    assert parity and all("terms" in r for r in parity)
    assert "| shapes_attngan | fp32_eager |" in done.stderr  # the Markdown table


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cached_training_step_never_waits_for_the_gpu(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    """With cached text embeddings, a step between logging steps makes no host synchronisation.

    ``torch.cuda.set_sync_debug_mode("error")`` raises on anything that waits for the device (``.item()``,
    device-to-host copies, blocking host-to-device copies) during every step whose captions are all cached
    and that does not log. (A step that encodes captions live waits once: ``pack_padded_sequence`` copies
    its sort order to the device with a blocking copy.)
    """
    import lightning as L
    from hydra.utils import instantiate
    from lightning.pytorch import Callback

    from attngan.cli.train import build_module, build_trainer
    from attngan.lit.attngan_module import TEXT_CACHE_MISSING
    from training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, compose_train

    class NoSync(Callback):
        def __init__(self) -> None:
            self.checked = 0

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            logs = batch_idx + 1 >= trainer.num_training_batches  # the last batch of an epoch logs
            if not logs and batch[TEXT_CACHE_MISSING].numel() == 0:  # every caption of it is cached
                torch.cuda.synchronize()
                torch.cuda.set_sync_debug_mode("error")

        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if torch.cuda.get_sync_debug_mode():
                torch.cuda.set_sync_debug_mode("default")
                self.checked += 1

    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.sample_every_n_epochs=0",
        "model.log_every_n_steps=1000",
        "data.num_images=40",
        "data.captions_per_image=1",
        "data.cache_text_embeddings=true",
        "trainer.accelerator=gpu",
        "data.batch_size=8",
        "trainer.limit_train_batches=4",
        "trainer.max_epochs=3",
        "callbacks=none",
    )
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    guard = NoSync()
    try:
        build_trainer(cfg, extra_callbacks=[guard]).fit(module, datamodule=datamodule)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert guard.checked >= 1
