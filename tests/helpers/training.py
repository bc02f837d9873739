"""Helpers for tests that compose the real configs and train tiny models in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.config import compose_config

# small enough for a 2-core CPU: a handful of batches of tiny networks
TINY_DATA = ["data.num_images=240", "data.batch_size=16", "data.num_workers=0"]
TINY_TRAINER = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=2",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.accelerator=cpu",
    "logger=none",
]
TINY_DAMSM = [
    "experiment=shapes_damsm",
    "model.text_encoder.embedding_dim=16",
    "model.text_encoder.hidden_dim=16",
    "model.image_encoder.embedding_dim=32",
    "model.image_encoder.base_channels=8",
    "model.r_precision_candidates=10",
    "model.num_attention_figures=1",
]
TINY_ATTNGAN = [
    "experiment=shapes_attngan",
    "model.generator.ngf=4",
    "model.generator.embedding_dim=32",
    "model.discriminator.ndf=4",
    "trainer.log_every_n_steps=1",
    "model.num_sample_captions=2",
]


def compose_train(tmp_path: Path, *overrides: str) -> DictConfig:
    """The real ``train`` config with test-friendly paths (no Hydra run directory needed)."""
    return compose_config(
        "train",
        [
            f"paths.root_dir={tmp_path}",
            f"paths.output_dir={tmp_path}/run",
            f"paths.cache_dir={tmp_path.parent / 'shared-cache'}",
            *overrides,
        ],
    )


def run_train(tmp_path: Path, *overrides: str) -> dict[str, Any]:
    from attngan.cli.train import train

    return train(compose_train(tmp_path, *overrides))
