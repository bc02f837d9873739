"""Progress as readable lines where stdout is not a terminal (CI logs, ``make train > log``, SLURM output).

:class:`ProgressLines` keeps Lightning's bar on a terminal and, elsewhere, turns it off and prints one line per
epoch (and, with ``every_n_steps``, one every N training batches); why not Lightning's bar there: decision 040::

    epoch 3/40 | batch 63/63 | d_loss_0 0.6931 d_loss_1 0.7012 g_adversarial 1.204 ... | 4.52 steps/s | ETA 12:03

The values are the module's logged scalars (``self.log``; ``train/`` left out of the names), the speed is in
training batches per second since the previous line (validation included), and the ETA is the batches left
until ``trainer.max_epochs`` at the run's average pace. Only rank 0 prints. ``trainer.enable_progress_bar=false``
silences the lines too, and ``ATTNGAN_PROGRESS=0`` (:mod:`attngan.progress`) both the lines and the bar.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from tqdm import tqdm

from attngan.errors import ConfigError
from attngan.progress import is_terminal, progress_enabled

MODES = ("auto", "lines", "bar")
# logged counters a line leaves out (the x-axis of decision 024, the generator step)
COUNTERS = ("step", "epoch", "train/generator_step")


def line_metrics(metrics: dict[str, Any], prefer: str) -> dict[str, float]:
    """The scalars of ``trainer.callback_metrics`` as shown in a line, names shortened.

    A value logged both per step and per epoch (``x_step`` and ``x_epoch``) is shown once, as ``x``: the
    ``prefer`` variant (``"epoch"`` at the end of an epoch, ``"step"`` in between). ``train/`` is dropped from
    names; the first of two values with the same shown name wins. The logging x-axis (``step``, ``epoch``) and
    ``train/generator_step`` are counters, not values, and are left out.
    """
    other = "step" if prefer == "epoch" else "epoch"
    shown: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                continue
            value = value.item()
        if not isinstance(value, int | float) or name in COUNTERS or name.endswith(f"_{other}"):
            continue
        name = name.removesuffix(f"_{prefer}").removeprefix("train/")
        shown.setdefault(name, float(value))
    return shown


class ProgressLines(Callback):
    """The progress bar on a terminal; one line per epoch (or every N batches) with losses, speed and ETA
    elsewhere.

    Args:
        every_n_steps: also print a line every N training batches (0: at the end of each epoch only).
        mode: ``auto`` (lines when stdout is not a terminal), ``lines`` (always lines, no bar) or ``bar``
            (never lines: the bar even in a log file).
        stream: where lines go; ``None``: ``sys.stdout`` as it is when fitting starts.
    """

    def __init__(self, every_n_steps: int = 0, mode: str = "auto", stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"callbacks.progress.mode must be one of {', '.join(MODES)}, got {mode!r}")
        if int(every_n_steps) < 0:
            raise ConfigError(
                f"callbacks.progress.every_n_steps must be >= 0 (0: once per epoch), got {every_n_steps}"
            )
        self.every_n_steps = int(every_n_steps)
        self.mode = mode
        self.stream = stream
        self.active = False
        self._out: TextIO = sys.stdout
        self._start = self._last = 0.0
        self._batches = self._last_batches = 0  # training batches of this fit (since a resume)
        self._epoch_batch = 0
        self._evaluated: dict[str, float] = {}  # the val/* values shown so far

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._out = self.stream if self.stream is not None else sys.stdout
        bar, shown = trainer.progress_bar_callback, progress_enabled(True)
        lines = self.mode == "lines" or (self.mode == "auto" and not is_terminal(self._out))
        self.active = stage == "fit" and bar is not None and shown and lines
        if bar is not None and (self.active or not shown):
            bar.disable()  # before any bar is drawn (they are made when their loop starts)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start = self._last = time.perf_counter()
        self._batches = self._last_batches = 0

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._epoch_batch = 0

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._batches += 1
        self._epoch_batch = batch_idx + 1
        if self.active and self.every_n_steps and self._batches % self.every_n_steps == 0:
            self._print(trainer, prefer="step")

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.active:
            self._print(trainer, prefer="epoch")

    def line(self, trainer: Trainer, prefer: str = "epoch") -> str:
        """The progress line for the trainer's state now (``prefer``: see :func:`line_metrics`)."""
        now = time.perf_counter()
        max_epochs, per_epoch = trainer.max_epochs or -1, trainer.num_training_batches
        known = max_epochs > 0 and math.isfinite(per_epoch)
        left = (max_epochs - trainer.current_epoch) * per_epoch - self._epoch_batch if known else math.inf
        parts = [
            f"epoch {trainer.current_epoch + 1}/{max_epochs if max_epochs > 0 else '?'}",
            f"batch {self._epoch_batch}/{per_epoch if math.isfinite(per_epoch) else '?'}",
        ]
        values = line_metrics(dict(trainer.callback_metrics), prefer)
        # an evaluation's val/* values appear on the line after it, not again on every later line
        values = {k: v for k, v in values.items() if not k.startswith("val/") or self._evaluated.get(k) != v}
        self._evaluated.update((k, v) for k, v in values.items() if k.startswith("val/"))
        if values:
            parts.append(" ".join(f"{name} {value:.4g}" for name, value in values.items()))
        elapsed = now - self._last
        speed = (self._batches - self._last_batches) / elapsed if elapsed > 0 else math.nan
        parts.append(f"{speed:.3g} steps/s")
        eta = max(left, 0) * (now - self._start) / self._batches if self._batches else math.nan
        parts.append(f"ETA {tqdm.format_interval(eta) if math.isfinite(eta) else '?'}")
        self._last, self._last_batches = now, self._batches
        return " | ".join(parts)

    def _print(self, trainer: Trainer, prefer: str) -> None:
        text = self.line(trainer, prefer)
        if trainer.is_global_zero:
            print(text, file=self._out, flush=True)


__all__ = ["MODES", "ProgressLines", "line_metrics"]
