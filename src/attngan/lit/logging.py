"""Experiment logging: the W&B logger factory, the resolved run config, sample figures for every logger, and
Lightning's console lines written once (:func:`quiet_lightning_logs`).

Loggers are rank-zero only (Lightning makes every other rank's logger a no-op), so everything here is safe
to call on every rank.
"""

from __future__ import annotations

import logging
import netrc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from PIL import Image

from attngan.errors import ConfigError

if TYPE_CHECKING:
    from attngan.models.generator import GeneratorOutput

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
    """Whether W&B could log in without asking: ``WANDB_API_KEY`` or a netrc entry for its host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    candidates = [os.environ.get("NETRC"), os.path.expanduser("~/.netrc"), os.path.expanduser("~/_netrc")]
    for path in filter(None, candidates):
        try:
            if netrc.netrc(path).authenticators(host):
                return True
        except (OSError, netrc.NetrcParseError):
            continue
    return False


def wandb_logger(mode: str | None = None, **kwargs: Any) -> Any:
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
    from lightning.pytorch.loggers import WandbLogger

    mode = (mode or os.environ.get("WANDB_MODE") or "online").lower()
    if mode not in WANDB_MODES:
        raise ConfigError(
            f"W&B mode {mode!r} (logger.wandb.mode or WANDB_MODE) is not one of online, offline, disabled"
        )
    if mode in ("online", "run", "shared") and not _wandb_credentials_found():
        raise ConfigError(
            "logger=wandb logs online, but no W&B credentials were found (WANDB_API_KEY or `wandb login`). "
            "No account is needed for WANDB_MODE=offline (runs are kept in <run dir>/wandb/ and can be "
            "uploaded later with `wandb sync <run dir>/wandb/offline-run-*`) or WANDB_MODE=disabled; "
            "or use logger=csv / logger=tensorboard."
        )
    if kwargs.get("log_model") and mode in ("offline", "dryrun", "disabled"):
        kwargs["log_model"] = False  # checkpoints cannot be uploaded offline; they stay in the run directory
    if wandb.run is not None:
        # a previous job of the same process (a Hydra sweep) left its run open: close it, or this job's
        # metrics would go into that run
        wandb.finish()
    return WandbLogger(mode=mode, **kwargs)


def finish_loggers(loggers: Sequence[Any]) -> None:
    """Close W&B runs opened by these loggers (flushes offline runs to disk; the next job gets its own run)."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger" and getattr(logger, "_experiment", None) is not None:
            experiment = logger._experiment
            if hasattr(experiment, "finish"):
                experiment.finish()
            logger._experiment = None


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


def write_sample_figures(
    out_dir: Path,
    output: GeneratorOutput,
    captions: torch.Tensor,
    lengths: torch.Tensor,
    texts: Sequence[str],
    vocab: Sequence[str],
) -> tuple[list[tuple[str, Image.Image]], Image.Image, list[list[Image.Image]]]:
    """Save a generated batch as PNGs: ``caption_<i>_attention.png`` per caption and ``grid.png``.

    Args:
        out_dir: the folder to write to (made if missing).
        output: the generator's output for the batch (B captions).
        captions: ``(B, T)`` word ids; lengths: ``(B,)``.
        texts: the B captions as text (written under the grid's images).
        vocab: words in id order (the attention figures' tokens).

    Returns:
        ``(figures, grid, stage_images)`` as :func:`log_samples` takes them.
    """
    from attngan.viz import attention_figure, sample_grid, tensor_to_pil

    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for i, text in enumerate(texts):
        length = int(lengths[i])
        tokens = [vocab[int(t)] for t in captions[i, :length]]
        figure = attention_figure(
            [im[i].float().cpu() for im in output.images],
            [att[i, :length].float().cpu() for att in output.attention],
            tokens,
            top_k=5,
        )
        figure.save(out_dir / f"caption_{i:02d}_attention.png")
        figures.append((text, figure))
    final = [im.float().cpu() for im in output.images[-1]]
    grid = sample_grid(final, list(texts), ncol=4, cell_size=max(128, int(final[0].shape[-1])))  # legible
    grid.save(out_dir / "grid.png")
    stage_images = [[tensor_to_pil(im[i].float().cpu()) for im in output.images] for i in range(len(texts))]
    return figures, grid, stage_images


@torch.no_grad()
def render_samples(module: Any) -> Path | None:
    """The sample grid of an :class:`~attngan.lit.AttnGANModule`: its first validation captions with fixed z and
    CA ε through its EMA generator, so the same weights give the same grid. Writes
    ``<run dir>/samples/epoch_<N>/`` (grid and attention figures) and logs them; None without a data module."""
    from attngan.evaluation.generate import generate, seed_noise
    from attngan.lit.common import fixed_batch

    trainer = module.trainer
    datamodule = getattr(trainer, "datamodule", None)
    if datamodule is None:
        return None
    if module._sample_batch is None:  # the first validation captions, the same at every epoch
        module._sample_batch = fixed_batch(datamodule, module.hparams.num_sample_captions)
    batch = module._sample_batch
    captions, lengths = batch["captions"], batch["lengths"]
    generator = module.generator_ema
    noise, condition_noise = seed_noise(
        captions.shape[0], generator.z_dim, generator.condition_dim, module.hparams.seed
    )
    output, _, _ = generate(module.text_encoder, generator, captions, lengths, noise, condition_noise)
    out_dir = Path(trainer.default_root_dir) / "samples" / f"epoch_{module.current_epoch:04d}"
    figures, grid, stage_images = write_sample_figures(
        out_dir, output, captions, lengths, batch["texts"], module.vocab
    )
    if module.loggers:
        step, epoch = trainer.global_step, module.current_epoch
        log_samples(module.loggers, figures, grid, step=step, epoch=epoch, stage_images=stage_images)
    return out_dir


def log_samples(
    loggers: Sequence[Any],
    figures: list[tuple[str, Image.Image]],
    grid: Image.Image,
    step: int,
    epoch: int,
    stage_images: list[list[Image.Image]] | None = None,
) -> None:
    """Log a sample grid and, per caption, its stage images and attention figure.

    W&B gets a table (epoch, caption, one column per stage, attention figure) under ``samples/table``, the
    captioned attention figures under ``samples/attention`` and the grid under ``samples/grid``; TensorBoard
    gets the images; CSV and other loggers get nothing (the PNGs are in the run directory anyway).

    Args:
        loggers: the trainer's loggers.
        figures: ``(caption, attention figure)`` per caption.
        grid: the sample grid (last stage, captions written under the images).
        step: the trainer's global step (the x-axis of every other logged value).
        epoch: the epoch the samples belong to.
        stage_images: per caption, the image of every stage (smallest first); optional.
    """
    for logger in loggers:
        name = type(logger).__name__
        if name == "WandbLogger":
            import wandb

            widths = [image.width for image in stage_images[0]] if stage_images else []
            stage_columns = [f"stage {i} ({width}px)" for i, width in enumerate(widths)]
            table = wandb.Table(columns=["epoch", "caption", *stage_columns, "attention"])
            for i, (caption, figure) in enumerate(figures):
                stages = [wandb.Image(im) for im in stage_images[i]] if stage_images else []
                table.add_data(epoch, caption, *stages, wandb.Image(figure, caption=caption))
            # no `step=` for wandb: its own counter must only grow, the x-axis is trainer/global_step
            logger.experiment.log(
                {
                    "samples/grid": wandb.Image(grid, caption=f"epoch {epoch}"),
                    # the figures also as plain captioned images: kept in the run's own files (a table's
                    # images are staged as an artifact, in $WANDB_DATA_DIR until the run is synced)
                    "samples/attention": [
                        wandb.Image(figure, caption=caption) for caption, figure in figures
                    ],
                    "samples/table": table,
                    "epoch": epoch,
                    "trainer/global_step": step,
                }
            )
        elif name == "TensorBoardLogger":
            writer = logger.experiment
            writer.add_image("samples/grid", _rgb(grid), step, dataformats="HWC")
            for i, (_, figure) in enumerate(figures):
                writer.add_image(f"samples/attention_{i}", _rgb(figure), step, dataformats="HWC")


def log_figures(
    loggers: Sequence[Any], key: str, figures: list[tuple[str, Image.Image]], step: int, epoch: int
) -> None:
    """Log captioned figures (e.g. DAMSM word-to-region attention) to W&B and TensorBoard."""
    for logger in loggers:
        name = type(logger).__name__
        if name == "WandbLogger":
            import wandb

            images = [wandb.Image(figure, caption=caption) for caption, figure in figures]
            logger.experiment.log({key: images, "epoch": epoch, "trainer/global_step": step})
        elif name == "TensorBoardLogger":
            for i, (_, figure) in enumerate(figures):
                logger.experiment.add_image(f"{key}_{i}", _rgb(figure), step, dataformats="HWC")


__all__ = [
    "LogRunConfig",
    "finish_loggers",
    "log_figures",
    "log_samples",
    "render_samples",
    "wandb_logger",
    "write_sample_figures",
]
