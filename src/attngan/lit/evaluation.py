"""The training-time evaluation: the EMA generator on a subset of the test split every N epochs, as ``val/*``.

A thin Lightning layer over :mod:`attngan.evaluation`: the metrics (:class:`~attngan.evaluation.suite.MetricSuite`
over the registry of :mod:`attngan.metrics.registry`), the caption batches and the generation loop
(:func:`~attngan.evaluation.suite.measure`) are the same as ``attngan-eval``'s. Result names are the registry's
final names: ``val/<name>`` in the loggers and ``<run dir>/csv/metrics.csv``, ``<name>`` in
``<run dir>/evaluation.jsonl`` (the lambda-sweep report reads them).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from attngan.data.datamodule import CaptionDataModule
from attngan.errors import ConfigError
from attngan.evaluation.captions import caption_batches
from attngan.evaluation.report import append_jsonl
from attngan.evaluation.suite import MetricSuite, measure
from attngan.lit.attngan_module import AttnGANModule
from attngan.metrics.options import MetricOptions

log = logging.getLogger(__name__)

__all__ = ["EvaluationCallback"]


class EvaluationCallback(Callback):
    """Evaluate the EMA generator every ``every_n_epochs`` epochs and log ``val/<name>`` for every result.

    The first ``num_images`` images of the test split (``datamodule.val_dataset``; its ``caption_index``
    caption) are split across processes; every sample's noise comes from ``(seed, index)``, so the values do
    not depend on the number of processes, and every state is reduced across them (R-precision gathers
    features by index). Values go to every logger at the trainer's global step (the x-axis of the training
    losses), together with ``val/num_images`` and ``val/generator_step``; they are also available to other
    callbacks (``trainer.callback_metrics``, e.g. a ``ModelCheckpoint(monitor="val/fid")``) and appended to
    ``<run dir>/evaluation.jsonl``. The DAMSM module validates itself: for it (or any module that is not an
    :class:`~attngan.lit.attngan_module.AttnGANModule`) the callback does nothing.

    Args:
        every_n_epochs: evaluate after every N-th epoch (0: never, except ``on_last_epoch``).
        on_last_epoch: also evaluate after the last epoch (``trainer.max_epochs``).
        num_images: test images (one caption each) per evaluation; fewer when the split is smaller.
        metrics: metric names (:data:`~attngan.metrics.registry.METRIC_NAMES`); ``None``: R-precision, plus
            the shapes oracle and attention localisation on shapes, plus IS and FID elsewhere (skipped with a
            warning when the Inception weights are missing). Names given explicitly must run (else an error).
        batch_size: images per generator pass (default: the data module's evaluation batch size).
        seed: noise seed (and the seed of ``options`` read from ``**metrics_config``).
        options: how metrics are measured; IS splits, R-precision candidates and folds are lowered to the
            number of images evaluated (candidates with a warning).
        **metrics_config: instead of ``options``, the keys of the ``metrics`` config group (conf/metrics/
            default.yaml, merged into ``callbacks.evaluation``), read by
            :meth:`~attngan.metrics.options.MetricOptions.from_config`.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        on_last_epoch: bool = True,
        num_images: int = 2048,
        metrics: Sequence[str] | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        options: MetricOptions | None = None,
        **metrics_config: Any,
    ) -> None:
        if options is not None and metrics_config:
            raise ConfigError(
                f"EvaluationCallback takes options= or the metrics group's keys, not both (got {sorted(metrics_config)})"
            )
        if int(every_n_epochs) < 0 or int(num_images) < 1:
            raise ConfigError(
                f"callbacks.evaluation: every_n_epochs must be >= 0 and num_images >= 1, got {every_n_epochs} "
                f"and {num_images}"
            )
        self.every_n_epochs = int(every_n_epochs)
        self.on_last_epoch = bool(on_last_epoch)
        self.num_images = int(num_images)
        self.metric_names = list(metrics) if metrics is not None else None
        self.batch_size = batch_size
        self.seed = int(seed)
        if options is None:
            options = MetricOptions.from_config(metrics_config, seed=self.seed, where="callbacks.evaluation")
        self.options = options
        self.suite: MetricSuite | None = None
        self.history: list[dict[str, Any]] = []

    # -------------------------------------------------------------- when
    @staticmethod
    def applies_to(pl_module: LightningModule) -> bool:
        """Only modules with an EMA generator (AttnGAN) are evaluated; the DAMSM validates itself."""
        return isinstance(pl_module, AttnGANModule)

    def is_due(self, trainer: Trainer) -> bool:
        epoch = trainer.current_epoch + 1
        max_epochs = trainer.max_epochs
        last = self.on_last_epoch and max_epochs is not None and max_epochs > 0 and epoch >= max_epochs
        return bool(last or (self.every_n_epochs and epoch % self.every_n_epochs == 0))

    @staticmethod
    def _datamodule(trainer: Trainer) -> CaptionDataModule | None:
        """The data module when its test split has something to evaluate on."""
        datamodule = trainer.datamodule
        if not isinstance(datamodule, CaptionDataModule) or len(datamodule.val_dataset or ()) < 2:
            return None
        return datamodule

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Build the metrics before training, so that a configuration that cannot work fails at once."""
        if stage != "fit" or self.suite is not None or not isinstance(pl_module, AttnGANModule):
            return
        datamodule = self._datamodule(trainer)
        if datamodule is not None:
            self.suite = self._build(datamodule, pl_module)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not isinstance(pl_module, AttnGANModule) or not self.is_due(trainer):
            return
        started = time.perf_counter()
        results = self.evaluate(trainer, pl_module)
        if results:
            results["generator_step"] = float(pl_module.generator_step)
            self._log(trainer, pl_module, results, seconds=time.perf_counter() - started)

    # -------------------------------------------------------------- how
    def _build(self, datamodule: CaptionDataModule, pl_module: AttnGANModule) -> MetricSuite:
        assert datamodule.val_dataset is not None
        return MetricSuite(
            self.metric_names,
            dataset=datamodule.dataset_name,
            root=datamodule.root,
            has_attention=pl_module.generator_ema.num_stages > 1,
            options=self.options,
            num_images=min(self.num_images, len(datamodule.val_dataset)),
            during_training=True,
        )

    @torch.no_grad()
    def evaluate(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, float]:
        """Generate the evaluation images with the EMA generator and compute every metric (all processes)."""
        datamodule = self._datamodule(trainer)
        if datamodule is None or datamodule.val_dataset is None or not isinstance(pl_module, AttnGANModule):
            log.warning("evaluation skipped: the data module has no test split (datamodule.val_dataset)")
            return {}
        dataset = datamodule.val_dataset
        total = min(self.num_images, len(dataset))
        positions = list(range(total))[trainer.global_rank :: trainer.world_size]
        if self.suite is None:
            self.suite = self._build(datamodule, pl_module)
        suite = self.suite.to(pl_module.device)
        suite.reset()
        if not suite.metrics:
            return {}
        generator = pl_module.generator_ema
        was_training = generator.training
        generator.eval()
        batch_size = int(self.batch_size or datamodule.eval_batch_size)
        if suite.needs_real_images:
            from torch.utils.data import DataLoader, Subset

            from attngan.data.dataset import collate_captions

            loader = DataLoader(
                Subset(dataset, positions),
                batch_size=batch_size,
                shuffle=False,
                num_workers=datamodule.num_workers,
                collate_fn=collate_captions,
            )
            suite.update_real_batches(loader, pl_module.device)
        batches = caption_batches(
            dataset, positions, batch_size, dataset.caption_index, id_to_word=pl_module.vocab
        )
        use_classes = bool(datamodule.num_classes)
        encoders = (pl_module.text_encoder, generator, pl_module.image_encoder)
        measure(suite, batches, *encoders, self.seed, use_classes)
        generator.train(was_training)
        results = suite.compute()
        results["num_images"] = float(total)
        return results

    def _log(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        results: dict[str, float],
        seconds: float,
    ) -> None:
        metrics = {f"val/{k}": v for k, v in results.items()}
        for logger in trainer.loggers:
            logger.log_metrics({**metrics, "epoch": float(trainer.current_epoch)}, step=trainer.global_step)
        for key, value in metrics.items():  # trainer.callback_metrics, for checkpoint monitors / progress bar
            pl_module.log(key, value, logger=False, sync_dist=False)
        record = {"epoch": trainer.current_epoch, "step": trainer.global_step, **results}
        # this evaluation's wall time (the reproduce budget's evaluation cost)
        record["seconds"] = round(seconds, 2)
        assert self.suite is not None
        record.update(self.suite.describe())
        self.history.append(record)
        if trainer.is_global_zero:
            append_jsonl(Path(trainer.default_root_dir) / "evaluation.jsonl", record)
            shown = ", ".join(
                f"{k}={v:.4g}"
                for k, v in results.items()
                if k not in ("num_images", "generator_step") and not math.isnan(v)
            )
            count = int(results.get("num_images", 0))
            log.info("epoch %d evaluation (%d images): %s", trainer.current_epoch, count, shown)
