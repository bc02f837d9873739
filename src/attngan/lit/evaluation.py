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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import nn

from attngan.errors import ConfigError
from attngan.evaluation.captions import caption_batches
from attngan.evaluation.report import append_jsonl
from attngan.evaluation.suite import MetricSuite, measure, shapes_ground_truth
from attngan.metrics.options import MetricOptions, inception_protocol_options

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
    ``<run dir>/evaluation.jsonl``. The DAMSM module validates itself: for it (or any module without
    ``generator_ema``) the callback does nothing.

    Args:
        every_n_epochs: evaluate after every N-th epoch (0: never, except ``on_last_epoch``).
        on_last_epoch: also evaluate after the last epoch (``trainer.max_epochs``).
        num_images: test images (one caption each) per evaluation; fewer when the split is smaller.
        metrics: metric names (:data:`~attngan.metrics.registry.METRIC_NAMES`); ``None``: R-precision, plus
            the shapes oracle and attention localisation on shapes, plus IS and FID elsewhere (skipped with a
            warning when the Inception weights are missing). Names given explicitly must run (else an error).
        batch_size: images per generator pass (default: the data module's evaluation batch size).
        seed: noise seed.
        inception_weights: the IS/FID Inception weights file (default: the torch hub cache).
        antialias: resize for Inception with antialiasing (default: TensorFlow-compatible, no antialias).
        strict: a metric that cannot run is an error instead of a warning.
        is_splits: Inception-score splits (fewer when there are fewer images).
        num_candidates: R-precision candidates per image (fewer when there are fewer images, with a warning).
        num_folds: R-precision folds.
        r_precision: ``{"protocol": "default" | "dmgan"}`` (``metrics.r_precision`` of conf/metrics).
        clip: ``{"model_path": DIR}``, the CLIP model of ``clip_score`` / ``clip_r_precision`` (``metrics.clip``).
        feature_extractor: a network replacing Inception for IS/FID (tests).
        fid: ``metrics.fid`` (``protocol``, ``weights``, ``reference``; attngan/metrics/fid.py).
        **groups: ``is``: ``metrics.is`` (``classifier``, ``weights``), a keyword Python cannot name.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        on_last_epoch: bool = True,
        num_images: int = 2048,
        metrics: Sequence[str] | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        inception_weights: str | None = None,
        antialias: bool = False,
        strict: bool = False,
        is_splits: int = 10,
        num_candidates: int = 100,
        num_folds: int = 10,
        r_precision: Mapping[str, Any] | None = None,
        clip: Mapping[str, Any] | None = None,
        feature_extractor: nn.Module | None = None,
        fid: Mapping[str, Any] | None = None,
        **groups: Mapping[str, Any] | None,
    ) -> None:
        unknown = sorted(set(groups) - {"is"})
        if unknown:
            raise ConfigError(
                f"callbacks.evaluation: unknown key(s) {unknown}; see conf/metrics/default.yaml"
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
        self.inception_weights = inception_weights or None
        self.antialias = bool(antialias)
        self.strict = bool(strict)
        self.is_splits = int(is_splits)
        self.num_candidates = int(num_candidates)
        self.num_folds = int(num_folds)
        self.r_precision_protocol = str((r_precision or {}).get("protocol") or "default")
        self.clip_model_path = (clip or {}).get("model_path") or None
        self.inception_protocols = inception_protocol_options(fid, groups.get("is"))
        self.feature_extractor = feature_extractor
        self.suite: MetricSuite | None = None
        self.history: list[dict[str, Any]] = []

    # -------------------------------------------------------------- when
    @staticmethod
    def applies_to(pl_module: LightningModule) -> bool:
        """Only modules with an EMA generator (AttnGAN) are evaluated; the DAMSM validates itself."""
        return isinstance(getattr(pl_module, "generator_ema", None), nn.Module)

    def is_due(self, trainer: Trainer) -> bool:
        epoch = trainer.current_epoch + 1
        max_epochs = trainer.max_epochs
        last = self.on_last_epoch and max_epochs is not None and max_epochs > 0 and epoch >= max_epochs
        return bool(last or (self.every_n_epochs and epoch % self.every_n_epochs == 0))

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Build the metrics before training, so that a configuration that cannot work fails at once."""
        if stage != "fit" or self.suite is not None or not self.applies_to(pl_module):
            return
        datamodule = getattr(trainer, "datamodule", None)
        dataset = getattr(datamodule, "val_dataset", None)
        if dataset is not None and len(dataset) >= 2:
            self.suite = self._build(datamodule, pl_module, min(self.num_images, len(dataset)))

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not self.applies_to(pl_module) or not self.is_due(trainer):
            return
        started = time.perf_counter()
        results = self.evaluate(trainer, pl_module)
        if results:
            self._log(trainer, pl_module, results, seconds=time.perf_counter() - started)

    # -------------------------------------------------------------- how
    def _subset(self, trainer: Trainer, dataset: Any) -> tuple[int, list[int]]:
        total = min(self.num_images, len(dataset))
        return total, list(range(total))[trainer.global_rank :: trainer.world_size]

    def _build(self, datamodule: Any, pl_module: LightningModule, total: int) -> MetricSuite:
        num_candidates = min(self.num_candidates, total)
        if num_candidates < self.num_candidates:
            log.warning(
                "val/r_precision ranks %d candidates instead of %d: only %d test images are evaluated "
                "(callbacks.evaluation.num_images or the test split is smaller)",
                num_candidates,
                self.num_candidates,
                total,
            )
        generator = pl_module.generator_ema  # type: ignore[attr-defined]
        options = MetricOptions(
            inception_weights=self.inception_weights,
            feature_extractor=self.feature_extractor,
            antialias=self.antialias,
            strict=self.strict,
            is_splits=max(1, min(self.is_splits, total)),
            num_candidates=max(2, num_candidates),
            num_folds=max(1, min(self.num_folds, total)),
            seed=self.seed,
            r_precision_protocol=self.r_precision_protocol,
            clip_model_path=self.clip_model_path,
            **self.inception_protocols,
        )
        return MetricSuite(
            self.metric_names,
            dataset=getattr(datamodule, "dataset_name", None),
            ground_truth=shapes_ground_truth(datamodule),
            has_attention=int(getattr(generator, "num_stages", 2)) > 1,
            options=options,
            keep_real_features=True,
            during_training=True,
        )

    @torch.no_grad()
    def evaluate(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, float]:
        """Generate the evaluation images with the EMA generator and compute every metric (all processes)."""
        datamodule = getattr(trainer, "datamodule", None)
        dataset = getattr(datamodule, "val_dataset", None)
        if dataset is None or len(dataset) < 2:
            log.warning("evaluation skipped: the data module has no test split (datamodule.val_dataset)")
            return {}
        total, positions = self._subset(trainer, dataset)
        if self.suite is None:
            self.suite = self._build(datamodule, pl_module, total)
        suite = self.suite.to(pl_module.device)
        suite.reset()
        if not suite.metrics:
            return {}
        text_encoder = pl_module.text_encoder  # type: ignore[attr-defined]
        image_encoder = getattr(pl_module, "image_encoder", None)
        generator = pl_module.generator_ema  # type: ignore[attr-defined]
        was_training = generator.training
        generator.eval()
        batch_size = int(self.batch_size or getattr(datamodule, "eval_batch_size", 32))
        if suite.needs_real_images:
            self._real_images(datamodule, dataset, positions, batch_size, suite, pl_module.device)
        batches = caption_batches(
            dataset,
            positions,
            batch_size,
            getattr(dataset, "caption_index", 0),
            id_to_word=getattr(pl_module, "vocab", None),
        )
        use_classes = bool(getattr(datamodule, "num_classes", None))
        measure(suite, batches, text_encoder, generator, image_encoder, self.seed, use_classes)
        generator.train(was_training)
        results = suite.compute()
        results["num_images"] = float(total)
        return results

    @staticmethod
    def _real_images(
        datamodule: Any,
        dataset: Any,
        positions: list[int],
        batch_size: int,
        suite: MetricSuite,
        device: torch.device,
    ) -> None:
        from torch.utils.data import DataLoader, Subset

        from attngan.data.dataset import collate_captions

        loader = DataLoader(
            Subset(dataset, positions),
            batch_size=batch_size,
            shuffle=False,
            num_workers=int(getattr(datamodule, "num_workers", 0)),
            collate_fn=collate_captions,
        )
        suite.update_real_batches(loader, device)

    def _log(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        results: dict[str, float],
        seconds: float,
    ) -> None:
        generator_step = float(getattr(pl_module, "_step", 0))
        metrics = {f"val/{k}": v for k, v in results.items()}
        metrics["val/generator_step"] = generator_step
        for logger in trainer.loggers:
            logger.log_metrics({**metrics, "epoch": float(trainer.current_epoch)}, step=trainer.global_step)
        for key, value in metrics.items():  # trainer.callback_metrics, for checkpoint monitors / progress bar
            pl_module.log(key, value, logger=False, sync_dist=False)
        record = {"epoch": trainer.current_epoch, "step": trainer.global_step, **results}
        record["generator_step"] = generator_step
        # this evaluation's wall time (the reproduce budget's evaluation cost)
        record["seconds"] = round(seconds, 2)
        assert self.suite is not None
        record.update(self.suite.describe())
        self.history.append(record)
        if trainer.is_global_zero:
            append_jsonl(Path(trainer.default_root_dir) / "evaluation.jsonl", record)
            shown = ", ".join(
                f"{k}={v:.4g}" for k, v in results.items() if k != "num_images" and not math.isnan(v)
            )
            count = int(results.get("num_images", 0))
            log.info("epoch %d evaluation (%d images): %s", trainer.current_epoch, count, shown)
