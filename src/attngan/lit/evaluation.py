"""Evaluating a generator: the metrics of generated images, shared by the training callback and ``attngan-eval``.

:class:`GenerationMetrics` holds the configured metrics and takes one generated batch at a time;
:class:`EvaluationCallback` runs it on the EMA generator every N epochs of AttnGAN training and logs ``val/*``;
``attngan-eval`` (:mod:`attngan.cli.eval`) runs it over the whole test split and writes ``metrics.json``.

Metric names (``metrics``/``metrics.names``): ``r_precision``, ``is``, ``fid``, ``shapes_oracle``,
``attention_localisation``. Result names are the same in both places (``val/<name>`` in the loggers and in
``<run dir>/csv/metrics.csv``; ``<name>`` in ``metrics.json``) and are kept stable, because the lambda-sweep
report reads them:

=========================================  ===================================================================
``r_precision``, ``r_precision_std``       top-1 retrieval of the own caption among 100 (DAMSM), mean/std over folds
``inception_score``, ``inception_score_std``  IS over splits (needs the Inception weights)
``fid``                                    FID against real test images (needs the Inception weights)
``shapes_colour_acc``, ``shapes_position_acc``, ``shapes_shape_acc``  shapes oracle, per named object
``shapes_single_object_{colour,position,shape}_acc``, ``shapes_image_acc``, ``shapes_num_objects``
``attention_localisation``                 share of colour/shape words' attention inside their object (shapes)
``attention_colour_word_localisation``, ``attention_shape_word_localisation``, ``attention_uniform_baseline``,
``attention_num_words``
=========================================  ===================================================================

R-precision and accuracies are fractions in [0, 1] here (``attngan-eval``'s Markdown table shows percents).
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor, nn
from torchmetrics import Metric

from attngan.errors import ConfigError
from attngan.losses.damsm import padding_mask

log = logging.getLogger(__name__)

EVALUATION_METRICS: tuple[str, ...] = ("r_precision", "is", "fid", "shapes_oracle", "attention_localisation")
SHAPES_ONLY: tuple[str, ...] = ("shapes_oracle", "attention_localisation")
INCEPTION_METRICS: tuple[str, ...] = ("is", "fid")

__all__ = [
    "EVALUATION_METRICS",
    "CaptionBatch",
    "EvaluationCallback",
    "GenerationMetrics",
    "caption_batches",
    "default_metric_names",
    "generate_batch",
    "json_ready",
    "result_name",
    "sample_noise",
]


# ------------------------------------------------------------------------------------------ names
def default_metric_names(dataset: str | None, during_training: bool = False) -> list[str]:
    """The metrics used when none are configured.

    Everywhere R-precision. Shapes: the oracle and attention localisation, plus FID for ``attngan-eval``
    (an ImageNet Inception score means nothing on shapes). Other datasets: IS and FID (skipped with a
    warning when the Inception weights are missing).

    Args:
        dataset: the data module's dataset name (``"shapes"``, ``"cub"``, ...).
        during_training: the defaults of :class:`EvaluationCallback` (no Inception on shapes).
    """
    if dataset == "shapes":
        return ["r_precision", *([] if during_training else ["fid"]), *SHAPES_ONLY]
    return ["r_precision", *INCEPTION_METRICS]


def result_name(metric: str, key: str) -> str:
    """The reported name of ``key`` computed by ``metric`` (see the module docstring)."""
    if metric == "is":
        return "inception_score" + key[len("is") :]
    if metric == "shapes_oracle":
        return f"shapes_{key}"
    if metric == "attention_localisation" and key != "attention_localisation":
        return f"attention_{key}"
    return key


# ------------------------------------------------------------------------------------------ batches
class CaptionBatch(dict):
    """Captions of evaluation samples (no images): ``captions (B, T)``, ``lengths (B,)``, ``class_ids (B,)``,
    ``indices (B,)`` (position in the evaluation run), ``keys``, ``texts``, ``tokens`` (words the model sees)."""


def caption_batches(
    dataset: Any,
    positions: Sequence[int],
    batch_size: int,
    caption_index: int = 0,
    index_offset: int = 0,
    max_words: int | None = None,
    id_to_word: Sequence[str] | None = None,
) -> Iterator[CaptionBatch]:
    """Batches of evaluation captions read from a :class:`~attngan.data.dataset.CaptionImageDataset` without
    loading any image.

    Sample ``p`` of ``positions`` takes caption ``caption_index % (its number of captions)``, its first
    ``max_words`` words (deterministic, as evaluation batches of the data module), and gets the index
    ``index_offset + p`` (noise seed and R-precision order).

    Args:
        dataset: the test split (``datamodule.val_dataset``).
        positions: dataset positions to read, in order.
        batch_size: samples per batch.
        caption_index: which caption of each image.
        index_offset: added to the position to form ``indices``.
        max_words: T (default: the dataset's).
        id_to_word: vocabulary list (id order, padding first) to fill ``tokens``.
    """
    from attngan.text.encoding import caption_to_tensor

    max_words = int(max_words or dataset.max_words)
    positions = list(positions)
    for start in range(0, len(positions), int(batch_size)):
        rows, lengths, class_ids, indices, keys, texts, tokens = [], [], [], [], [], [], []
        for position in positions[start : start + int(batch_size)]:
            record = dataset.records[position]
            captions = dataset.caption_ids[position]
            choice = caption_index % len(captions)
            if not captions[choice]:  # no known word in this caption: take the next one that has some
                choice = next((c for c in range(len(captions)) if captions[c]), choice)
            row, length = caption_to_tensor(captions[choice], max_words)
            rows.append(row)
            lengths.append(length)
            class_ids.append(int(record.class_id))
            indices.append(index_offset + int(position))
            keys.append(record.key)
            texts.append(record.captions[choice] if choice < len(record.captions) else "")
            if id_to_word is not None:
                tokens.append([id_to_word[int(t)] for t in row[:length]])
        yield CaptionBatch(
            captions=torch.stack(rows),
            lengths=torch.tensor(lengths, dtype=torch.long),
            class_ids=torch.tensor(class_ids, dtype=torch.long),
            indices=torch.tensor(indices, dtype=torch.long),
            keys=keys,
            texts=texts,
            tokens=tokens,
        )


def sample_noise(indices: Tensor, z_dim: int, condition_dim: int, seed: int) -> tuple[Tensor, Tensor]:
    """Noise of evaluation samples on the CPU: ``(z (B, z_dim), CA's ε (B, condition_dim))``.

    Row ``i`` is drawn from its own seed ``(seed, indices[i])``, so a sample's image depends only on the seed,
    its index and its caption, not on the batch size, the device or the number of processes.
    """
    rows = []
    for index in indices.tolist():
        state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        rows.append(torch.randn(z_dim + condition_dim, generator=generator))
    drawn = torch.stack(rows)  # (B, z_dim + condition_dim)
    return drawn[:, :z_dim], drawn[:, z_dim:]


@torch.no_grad()
def generate_batch(
    text_encoder: nn.Module,
    generator: nn.Module,
    image_encoder: nn.Module | None,
    captions: Tensor,
    lengths: Tensor,
    noise: Tensor,
    condition_noise: Tensor | None = None,
) -> tuple[Any, Tensor, Tensor | None]:
    """Captions through the text encoder and generator, and the final images through the DAMSM image encoder.

    Args:
        captions: ``(B, T)`` word ids; lengths: ``(B,)``; noise: ``(B, z_dim)``; condition_noise: CA's ε
            ``(B, condition_dim)`` or ``None`` (drawn by CA). All on the networks' device.

    Returns:
        ``(GeneratorOutput, sentence features (B, D), image global features (B, D) or None)``.
    """
    from attngan.pipeline import fixed_condition_noise

    words, sentence = text_encoder(captions, lengths)  # (B, D, T), (B, D)
    with fixed_condition_noise(generator, condition_noise):
        output = generator(noise, sentence, words, padding_mask(lengths, captions.shape[1]))
    image_global = image_encoder(output.images[-1])[1] if image_encoder is not None else None  # (B, D)
    return output, sentence, image_global


def shapes_ground_truth(datamodule: Any) -> dict[str, Any] | None:
    """The ground truth of a shapes data module (``None`` for other datasets)."""
    if getattr(datamodule, "dataset_name", None) != "shapes":
        return None
    from attngan.data.shapes import load_ground_truth

    return load_ground_truth(datamodule.root)


# ------------------------------------------------------------------------------------------ metrics
class GenerationMetrics:
    """The configured metrics of one evaluation, fed with generated batches.

    Args:
        names: metrics to compute (see :data:`EVALUATION_METRICS`); ``None``: :func:`default_metric_names`.
        dataset: the dataset name (shapes-only metrics need ``"shapes"``).
        ground_truth: shapes ground truth by image key (:func:`attngan.data.shapes.load_ground_truth`),
            needed by ``attention_localisation``.
        has_attention: whether the generator has attention stages (``attention_localisation`` needs one).
        strict: a metric that cannot run (missing Inception weights, no attention, not shapes) is an error;
            otherwise it is skipped with a warning. Names given explicitly are strict for the shapes and
            attention checks.
        inception_weights, feature_extractor, antialias, is_splits, num_candidates, num_folds, seed: see
            :func:`attngan.metrics.build_metrics`.
        keep_real_features: keep FID's real statistics across :meth:`reset` (the same real images are
            compared again and again during training).
        during_training: with ``names=None``, the defaults of the training callback.

    Attributes:
        metrics: ``{name: torchmetrics.Metric}`` of the metrics that run.
        skipped: the requested names that do not run, with the reason.
    """

    def __init__(
        self,
        names: Sequence[str] | None,
        *,
        dataset: str | None,
        ground_truth: Mapping[str, Any] | None = None,
        has_attention: bool = True,
        strict: bool = False,
        inception_weights: str | None = None,
        feature_extractor: nn.Module | None = None,
        antialias: bool = False,
        is_splits: int = 10,
        num_candidates: int = 100,
        num_folds: int = 10,
        seed: int = 0,
        keep_real_features: bool = False,
        during_training: bool = False,
    ) -> None:
        from attngan.metrics import AttentionLocalisation, MetricSkippedWarning, build_metrics

        explicit = names is not None
        requested = list(names) if names is not None else default_metric_names(dataset, during_training)
        unknown = [n for n in requested if n not in EVALUATION_METRICS]
        if unknown:
            raise ConfigError(f"unknown metric(s) {unknown}; choose from {list(EVALUATION_METRICS)}")
        self.skipped: dict[str, str] = {}
        usable = []
        for name in dict.fromkeys(requested):  # keeps the order, drops repeats
            reason = None
            if name in SHAPES_ONLY and dataset != "shapes":
                reason = f"needs the shapes dataset (data=shapes), not {dataset!r}"
            elif name == "attention_localisation" and not has_attention:
                reason = "the generator has a single stage, so no attention maps"
            elif name == "attention_localisation" and ground_truth is None:
                reason = "no shapes ground truth (ground_truth.json) was found"
            if reason is None:
                usable.append(name)
            elif explicit or strict:
                raise ConfigError(
                    f"metric {name!r} cannot run: it {reason}. Remove it from the metric names."
                )
            else:
                self.skipped[name] = reason
        registry_names = [n for n in usable if n != "attention_localisation"]
        with warnings.catch_warnings(record=True) as caught:  # logged once below, without a source line
            warnings.simplefilter("always", MetricSkippedWarning)
            built = build_metrics(
                registry_names,
                inception_weights=inception_weights,
                feature_extractor=feature_extractor,
                antialias=antialias,
                strict=strict or (explicit and any(n in INCEPTION_METRICS for n in registry_names)),
                is_splits=is_splits,
                num_candidates=num_candidates,
                num_folds=num_folds,
                seed=seed,
            )
        for warning in caught:
            if issubclass(warning.category, MetricSkippedWarning):
                log.warning("%s", warning.message)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        self.metrics: dict[str, Metric] = {}
        for name in usable:
            if name == "attention_localisation":
                self.metrics[name] = AttentionLocalisation()
            elif name in built:
                self.metrics[name] = built[name]
            else:
                self.skipped[name] = "the Inception weights were not found (metrics.inception_weights)"
        if keep_real_features and "fid" in self.metrics:
            self.metrics["fid"].reset_real_features = False  # type: ignore[assignment]
        self.ground_truth = dict(ground_truth) if ground_truth is not None else None
        self._masks: dict[str, Tensor] = {}
        self.real_images_seen = 0

    # -------------------------------------------------------------- state
    @property
    def names(self) -> list[str]:
        """The metrics that run, in order."""
        return list(self.metrics)

    @property
    def needs_real_images(self) -> bool:
        """Whether FID still wants the real side (:meth:`update_real`)."""
        return "fid" in self.metrics and self.real_images_seen == 0

    def to(self, device: torch.device | str) -> GenerationMetrics:
        for metric in self.metrics.values():
            metric.to(device)
        return self

    def reset(self) -> None:
        """Forget the generated samples (FID's real statistics too, unless ``keep_real_features``)."""
        for metric in self.metrics.values():
            metric.reset()
        fid = self.metrics.get("fid")
        if fid is not None and getattr(fid, "reset_real_features", True):
            self.real_images_seen = 0

    # -------------------------------------------------------------- updates
    def update_real(self, images: Tensor) -> None:
        """Real test images ``(B, 3, H, W)`` in [-1, 1] at the generator's final size (FID's real side)."""
        if "fid" in self.metrics:
            self.metrics["fid"].update(images, real=True)  # type: ignore[call-arg]
            self.real_images_seen += int(images.shape[0])

    def _mask_batch(self, keys: Sequence[str]) -> Tensor:
        assert self.ground_truth is not None
        masks = []
        for key in keys:
            if key not in self._masks:
                if key not in self.ground_truth:
                    raise ConfigError(
                        f"image {key!r} is not in the shapes ground truth (ground_truth.json): the data does "
                        "not come from one generated shapes dataset"
                    )
                self._masks[key] = torch.from_numpy(self.ground_truth[key].mask()).long()
            masks.append(self._masks[key])
        return torch.stack(masks)  # (B, H0, W0)

    def update(
        self,
        batch: Mapping[str, Any],
        output: Any,
        sentence_features: Tensor,
        image_features: Tensor | None,
        use_class_ids: bool,
    ) -> None:
        """Add one generated batch.

        Args:
            batch: a :class:`CaptionBatch` (``class_ids``, ``indices``, ``keys``, ``tokens``).
            output: the :class:`~attngan.models.generator.GeneratorOutput` of its captions.
            sentence_features: ``(B, D)`` DAMSM sentence vectors of its captions.
            image_features: ``(B, D)`` DAMSM global vectors of the final images (R-precision).
            use_class_ids: mismatched R-precision captions come from other classes (datasets with classes).
        """
        from attngan.metrics import update_metrics

        images = output.images[-1].float()  # (B, 3, H, W)
        device = images.device
        class_ids = batch["class_ids"].to(device) if use_class_ids else None
        registry = {k: m for k, m in self.metrics.items() if k != "attention_localisation"}
        update_metrics(
            registry,
            images=images,
            image_features=image_features,
            sentence_features=sentence_features,
            class_ids=class_ids,
            captions=batch["tokens"],
            indices=batch["indices"].to(device),
        )
        if "attention_localisation" in self.metrics:
            attention = output.attention[-1].float()  # (B, T, h, w), the last attention stage
            keys = batch["keys"]
            assert self.ground_truth is not None
            self.metrics["attention_localisation"].update(
                attention,
                batch["tokens"],
                self._mask_batch(keys).to(device),
                objects=[self.ground_truth[k].objects for k in keys],
            )

    # -------------------------------------------------------------- results
    def compute(self) -> dict[str, float]:
        """Every result as a float under its reported name (see the module docstring); NaN where nothing
        was counted. Call on every process (the states are reduced across processes)."""
        results: dict[str, float] = {}
        for name, metric in self.metrics.items():
            for key, value in metric.compute().items():
                results[result_name(name, key)] = float(value.item() if isinstance(value, Tensor) else value)
        return results

    def describe(self) -> dict[str, Any]:
        """How IS/FID were measured (weights file, resize) and which metrics were skipped, with why."""
        info: dict[str, Any] = {}
        for name in INCEPTION_METRICS:
            if name in self.metrics:
                description = self.metrics[name].inception.describe()  # type: ignore[union-attr]
                info["inception_weights"] = description["weights"]
                info["inception_resize"] = description["resize"]
        if self.skipped:
            info["skipped"] = dict(self.skipped)
        return info


# ------------------------------------------------------------------------------------------ callback
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
        metrics: names (see :data:`EVALUATION_METRICS`); ``None``: R-precision, plus the shapes oracle and
            attention localisation on shapes, plus IS and FID elsewhere (skipped with one warning when the
            Inception weights are missing). Names given explicitly must run (else an error).
        batch_size: images per generator pass (default: the data module's evaluation batch size).
        seed: noise seed.
        inception_weights: the IS/FID Inception weights file (default: the torch hub cache).
        antialias: resize for Inception with antialiasing (default: TensorFlow-compatible, no antialias).
        strict: a metric that cannot run is an error instead of a warning.
        is_splits: Inception-score splits (fewer when there are fewer images).
        num_candidates: R-precision candidates per image (fewer when there are fewer images, with a warning).
        num_folds: R-precision folds.
        feature_extractor: a network replacing Inception for IS/FID (tests).
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
        feature_extractor: nn.Module | None = None,
    ) -> None:
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
        self.feature_extractor = feature_extractor
        self.suite: GenerationMetrics | None = None
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
        results = self.evaluate(trainer, pl_module)
        if results:
            self._log(trainer, pl_module, results)

    # -------------------------------------------------------------- how
    def _subset(self, trainer: Trainer, dataset: Any) -> tuple[int, list[int]]:
        total = min(self.num_images, len(dataset))
        return total, list(range(total))[trainer.global_rank :: trainer.world_size]

    def _build(self, datamodule: Any, pl_module: LightningModule, total: int) -> GenerationMetrics:
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
        suite = GenerationMetrics(
            self.metric_names,
            dataset=getattr(datamodule, "dataset_name", None),
            ground_truth=shapes_ground_truth(datamodule),
            has_attention=int(getattr(generator, "num_stages", 2)) > 1,
            strict=self.strict,
            inception_weights=self.inception_weights,
            feature_extractor=self.feature_extractor,
            antialias=self.antialias,
            is_splits=max(1, min(self.is_splits, total)),
            num_candidates=max(2, num_candidates),
            num_folds=max(1, min(self.num_folds, total)),
            seed=self.seed,
            keep_real_features=True,
            during_training=True,
        )
        return suite

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
        device = pl_module.device
        text_encoder = pl_module.text_encoder  # type: ignore[attr-defined]
        image_encoder = pl_module.image_encoder if "r_precision" in suite.metrics else None  # type: ignore[attr-defined]
        generator = pl_module.generator_ema  # type: ignore[attr-defined]
        was_training = generator.training
        generator.eval()
        batch_size = int(self.batch_size or getattr(datamodule, "eval_batch_size", 32))
        vocab = getattr(pl_module, "vocab", None)
        use_classes = bool(getattr(datamodule, "num_classes", None))
        if suite.needs_real_images:
            self._real_images(datamodule, dataset, positions, batch_size, suite, device)
        for batch in caption_batches(
            dataset, positions, batch_size, getattr(dataset, "caption_index", 0), id_to_word=vocab
        ):
            captions, lengths = batch["captions"].to(device), batch["lengths"].to(device)
            noise, condition_noise = sample_noise(
                batch["indices"], int(generator.z_dim), int(generator.condition_dim), self.seed
            )
            output, sentence, image_global = generate_batch(
                text_encoder,
                generator,
                image_encoder,
                captions,
                lengths,
                noise.to(device),
                condition_noise.to(device),
            )
            suite.update(batch, output, sentence, image_global, use_classes)
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
        suite: GenerationMetrics,
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
        for batch in loader:
            suite.update_real(batch["images"][-1].to(device))

    def _log(self, trainer: Trainer, pl_module: LightningModule, results: dict[str, float]) -> None:
        generator_step = float(getattr(pl_module, "_step", 0))
        metrics = {f"val/{k}": v for k, v in results.items()}
        metrics["val/generator_step"] = generator_step
        for logger in trainer.loggers:
            logger.log_metrics({**metrics, "epoch": float(trainer.current_epoch)}, step=trainer.global_step)
        for key, value in metrics.items():  # trainer.callback_metrics, for checkpoint monitors / progress bar
            pl_module.log(key, value, logger=False, sync_dist=False)
        record = {"epoch": trainer.current_epoch, "step": trainer.global_step, **results}
        record["generator_step"] = generator_step
        assert self.suite is not None
        record.update(self.suite.describe())
        self.history.append(record)
        if trainer.is_global_zero:
            path = Path(trainer.default_root_dir) / "evaluation.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(json_ready(record), allow_nan=False) + "\n")
            shown = ", ".join(
                f"{k}={v:.4g}" for k, v in results.items() if k != "num_images" and not math.isnan(v)
            )
            count = int(results.get("num_images", 0))
            log.info("epoch %d evaluation (%d images): %s", trainer.current_epoch, count, shown)


def json_ready(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None`` and tensors/numpy scalars as numbers (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, Tensor | np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
