"""Experiment logging: the W&B logger factory, the resolved run config, sample figures for every logger, and
Lightning's console lines written once (:func:`quiet_lightning_logs`).

Loggers are rank-zero only (Lightning makes every other rank's logger a no-op), so everything here is safe
to call on every rank.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from PIL import Image

from attngan.errors import ConfigError

if TYPE_CHECKING:
    from attngan.lit import AttnGANModule

WANDB_MODES = ("online", "offline", "disabled", "dryrun", "run", "shared")


# ------------------------------------------------------------------------------------------------ console
# Lightning's INFO lines that are adverts, not news about this run
_ADVERTS = ("litlogger", "LitLogger", "Lightning Experiments platform")


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(word in message for word in _ADVERTS)


def quiet_lightning_logs() -> None:
    """Lightning's console lines once each, and without adverts for other packages (idempotent).

    ``import lightning`` gives its ``lightning`` logger a console handler of its own while records also reach the
    root logger; where the app configured the root logger (Hydra's job logging: console and ``<run dir>/*.log``),
    every Lightning line was written twice. That own handler goes; the root's handlers write each record once.
    """
    lightning = logging.getLogger("lightning")
    if logging.getLogger().hasHandlers():
        for handler in list(lightning.handlers):
            if type(handler) is logging.StreamHandler:
                lightning.removeHandler(handler)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropAdverts) for f in logger.filters):
            logger.addFilter(_DropAdverts())


# ------------------------------------------------------------------------------------------------ W&B
def _wandb_credentials_found() -> bool:
    """Whether W&B logs in without asking, by its own lookup (``WANDB_API_KEY``, ``wandb login``, settings)."""
    import wandb

    try:
        return wandb.login(prompt=False, verify=False)  # no prompt, no network
    except wandb.errors.AuthenticationError as err:  # a key was found but is malformed
        raise ConfigError(f"W&B refused its stored credentials: {err}; run `wandb login --relogin`") from None


def wandb_logger(mode: str | None = None, **kwargs: Any) -> WandbLogger:
    """A Lightning ``WandbLogger`` that never stops to ask for an account.

    Args:
        mode: ``online``, ``offline`` (written under ``<save_dir>/wandb/offline-run-*``, sync later with
            ``wandb sync``) or ``disabled``; ``None`` takes ``WANDB_MODE`` from the environment, else ``online``.
        **kwargs: ``WandbLogger`` / ``wandb.init`` arguments (``project``, ``name``, ``save_dir``, ``group``,
            ``tags``, ``log_model``, ...).

    Raises:
        ConfigError: ``mode`` is unknown, or online logging was asked for without W&B credentials.
    """
    import wandb

    mode = (mode or os.environ.get("WANDB_MODE") or "online").lower()
    if mode not in WANDB_MODES:
        raise ConfigError(
            f"W&B mode {mode!r} (logger.wandb.mode or WANDB_MODE) is not one of online, offline, disabled"
        )
    # a previous job of the same process (a Hydra sweep) left its run open: close it, or this job's metrics
    # would go into that run (and W&B would not look up credentials while a run is open)
    wandb.finish()
    if mode in ("online", "run", "shared") and not _wandb_credentials_found():
        raise ConfigError(
            "logger=wandb logs online, but no W&B credentials were found (WANDB_API_KEY or `wandb login`). "
            "No account is needed for WANDB_MODE=offline (runs are kept in <run dir>/wandb/ and can be "
            "uploaded later with `wandb sync <run dir>/wandb/offline-run-*`) or WANDB_MODE=disabled; "
            "or use logger=csv / logger=tensorboard."
        )
    if kwargs.get("log_model") and mode in ("offline", "dryrun", "disabled"):
        kwargs["log_model"] = False  # checkpoints cannot be uploaded offline; they stay in the run directory
    return WandbLogger(mode=mode, **kwargs)


def finish_loggers(loggers: Sequence[Logger]) -> None:
    """Close the W&B run of these loggers (flushes an offline run to disk; the next job gets its own run)."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        wandb.finish()  # the logger's run is W&B's current run


# ------------------------------------------------------------------------------------------------ config
class LogRunConfig(Callback):
    """Send the resolved run config (plain containers, interpolations resolved) to every logger.

    W&B shows it as the run's config (filter and group sweeps by ``model.lambda_damsm``), CSV and TensorBoard
    write it to their ``hparams.yaml``. The modules do not log their own constructor arguments: they are
    in this config already.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        for logger in trainer.loggers:
            logger.log_hyperparams(self.config)
            logger.save()


# ------------------------------------------------------------------------------------------------ images
def _rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


@torch.no_grad()
def render_samples(module: AttnGANModule) -> Path | None:
    """The sample grid of an :class:`~attngan.lit.AttnGANModule`: its first validation captions with fixed z and
    CA ε through its EMA generator, so the same weights give the same grid.

    Writes ``<run dir>/samples/epoch_<N>/``: ``grid.png`` (last stage, captions under the images) and
    ``caption_<i>_attention.png`` per caption, and logs them (:func:`log_figures`).

    Returns:
        That folder; None without a data module.
    """
    from attngan.lit.common import fixed_batch
    from attngan.models.generate import generate, seed_noise
    from attngan.viz import attention_figure, sample_grid, tensor_to_pil

    trainer = module.trainer
    if trainer.datamodule is None:
        return None
    if module._sample_batch is None:  # the first validation captions, the same at every epoch
        module._sample_batch = fixed_batch(trainer.datamodule, module.hparams.num_sample_captions)
    batch = module._sample_batch
    captions, lengths, texts = batch["captions"], batch["lengths"], batch["texts"]  # (B, T), (B,), B strings
    generator = module.generator_ema
    noise, condition_noise = seed_noise(
        captions.shape[0], generator.z_dim, generator.condition_dim, module.hparams.seed
    )
    output, _, _ = generate(module.text_encoder, generator, captions, lengths, noise, condition_noise)
    out_dir = Path(trainer.default_root_dir) / "samples" / f"epoch_{module.current_epoch:04d}"
    out_dir.mkdir(parents=True, exist_ok=True)
    images = [stage.float().cpu() for stage in output.images]  # per stage (B, 3, H, W), smallest first
    figures = []
    for i, text in enumerate(texts):
        length = int(lengths[i])
        tokens = [module.vocab[int(t)] for t in captions[i, :length]]
        attention = [att[i, :length].float().cpu() for att in output.attention]
        figure = attention_figure([im[i] for im in images], attention, tokens, top_k=5)
        figure.save(out_dir / f"caption_{i:02d}_attention.png")
        figures.append((text, figure))
    final = list(images[-1])
    grid = sample_grid(final, list(texts), ncol=4, cell_size=max(128, int(final[0].shape[-1])))  # legible
    grid.save(out_dir / "grid.png")
    if module.loggers:
        stage_images = [[tensor_to_pil(im[i]) for im in images] for i in range(len(texts))]
        step, epoch = trainer.global_step, module.current_epoch
        log_figures(module.loggers, "samples/attention", figures, step, epoch, grid, stage_images)
    return out_dir


def log_figures(
    loggers: Sequence[Logger],
    key: str,
    figures: list[tuple[str, Image.Image]],
    step: int,
    epoch: int,
    grid: Image.Image | None = None,
    stage_images: list[list[Image.Image]] | None = None,
) -> None:
    """Log captioned figures (attention maps) to W&B and TensorBoard, with a sample grid when given.

    W&B gets the figures under ``key``; with ``grid`` also ``samples/grid`` and a table under
    ``samples/table`` (epoch, caption, one column per stage, attention figure), all in one row. TensorBoard gets the images
    (``<key>_<i>``, ``samples/grid``); CSV and other loggers get nothing (the PNGs are in the run directory).

    Args:
        loggers: the trainer's loggers.
        key: the figures' name (``samples/attention``, ``val/attention``).
        figures: ``(caption, figure)`` per caption.
        step: the trainer's global step (the x-axis of every other logged value).
        epoch: the epoch the figures belong to.
        grid: the sample grid (last stage, captions written under the images).
        stage_images: with ``grid``, per caption the image of every stage (smallest first).
    """
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            import wandb

            # the figures also as plain captioned images: kept in the run's own files (a table's images are
            # staged as an artifact, in $WANDB_DATA_DIR until the run is synced)
            row = {key: [wandb.Image(figure, caption=caption) for caption, figure in figures], "epoch": epoch}
            if grid is not None and stage_images is not None:
                widths = [image.width for image in stage_images[0]]
                stages = [f"stage {i} ({width}px)" for i, width in enumerate(widths)]
                table = wandb.Table(columns=["epoch", "caption", *stages, "attention"])
                for (caption, figure), images in zip(figures, stage_images, strict=True):
                    images = [wandb.Image(image) for image in images]
                    table.add_data(epoch, caption, *images, wandb.Image(figure, caption=caption))
                row |= {"samples/grid": wandb.Image(grid, caption=f"epoch {epoch}"), "samples/table": table}
            # no `step=` for wandb: its own counter must only grow, the x-axis is trainer/global_step
            logger.experiment.log({**row, "trainer/global_step": step})
        elif isinstance(logger, TensorBoardLogger):
            if grid is not None:
                logger.experiment.add_image("samples/grid", _rgb(grid), step, dataformats="HWC")
            for i, (_, figure) in enumerate(figures):
                logger.experiment.add_image(f"{key}_{i}", _rgb(figure), step, dataformats="HWC")


__all__ = [
    "LogRunConfig",
    "finish_loggers",
    "log_figures",
    "render_samples",
    "wandb_logger",
]
