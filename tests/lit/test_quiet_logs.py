"""A training run's console: one line per event, no adverts, no warnings about our own deliberate choices."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers.cli import BIN
from helpers.training import TINY_DAMSM, TINY_DATA, TINY_TRAINER


def test_a_training_run_writes_each_lightning_line_once(tmp_path: Path) -> None:
    env = {**os.environ, "ATTNGAN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    env.pop("ATTNGAN_DEBUG", None)
    overrides = [*TINY_DAMSM, *TINY_DATA, *(o for o in TINY_TRAINER if o != "logger=none")]
    command = [str(BIN / "attngan-train"), *overrides, "hydra.run.dir=run", "export_path=damsm.ckpt"]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    console = proc.stdout + proc.stderr
    assert proc.returncode == 0, console
    assert console.count("GPU available") == 1, console  # Lightning's own handler and Hydra's wrote it twice
    assert console.count("`Trainer.fit` stopped") == 1, console
    for unwanted in ("litlogger", "LitLogger", "weights_only", "val_dataloader"):
        assert unwanted not in console, unwanted
    assert (tmp_path / "damsm.ckpt").is_file()
