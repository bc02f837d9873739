"""Sending sample figures to whichever loggers a run has (W&B tables, TensorBoard images)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image


def log_samples(
    loggers: Sequence[Any], figures: list[tuple[str, Image.Image]], grid: Image.Image, step: int, epoch: int
) -> None:
    """Log a sample grid and per-caption attention figures.

    W&B gets a table (caption, attention figure with the stage images) and the grid; TensorBoard gets the
    images; CSV and other loggers get nothing (the PNGs are in the run directory anyway).
    Loggers are rank-zero only, so this is safe to call on every rank.
    """
    for logger in loggers:
        name = type(logger).__name__
        if name == "WandbLogger":
            import wandb

            table = wandb.Table(columns=["epoch", "caption", "stages and attention"])
            for caption, figure in figures:
                table.add_data(epoch, caption, wandb.Image(figure))
            logger.experiment.log(
                {
                    "samples/grid": wandb.Image(grid, caption=f"epoch {epoch}"),
                    "samples/attention": table,
                    "epoch": epoch,
                },
                step=step,
            )
        elif name == "TensorBoardLogger":
            writer = logger.experiment
            writer.add_image("samples/grid", np.asarray(grid.convert("RGB")), step, dataformats="HWC")
            for i, (_, figure) in enumerate(figures):
                writer.add_image(
                    f"samples/attention_{i}", np.asarray(figure.convert("RGB")), step, dataformats="HWC"
                )
