"""The metric suite of one evaluation: the registry's metrics that apply, fed with generated batches.

:class:`MetricSuite` decides which metrics run (from the names asked for and what each registry entry needs),
takes one generated batch at a time and computes the results under their final names (see
:mod:`attngan.metrics.registry`). :func:`measure` is the one loop behind ``attngan-eval`` and the training
callback: captions -> noise -> :func:`~attngan.models.generate.generate` -> the suite.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from attngan.errors import ConfigError
from attngan.evaluation.captions import CaptionBatch
from attngan.metrics.options import (
    ATTENTION,
    DAMSM,
    REAL_IMAGES,
    SHAPES_DATA,
    SHAPES_GROUND_TRUTH,
    MetricInputs,
    MetricOptions,
)
from attngan.metrics.registry import (
    METRICS,
    build_available,
    check_metric_names,
    compute_metrics,
    describe_metrics,
    update_metrics,
)
from attngan.models.generate import generate, sample_noise

if TYPE_CHECKING:
    from attngan.data.shapes import ShapesImage
    from attngan.models import Generator, GeneratorOutput, TextEncoder

log = logging.getLogger(__name__)

__all__ = ["MetricSuite", "default_metric_names", "measure"]


def default_metric_names(dataset: str | None, during_training: bool = False) -> list[str]:
    """The metrics used when none are configured.

    Everywhere R-precision. Shapes: the oracle and attention localisation, plus FID for ``attngan-eval``
    (an ImageNet Inception score means nothing on shapes). Other datasets: IS and FID (skipped with a
    warning when the Inception weights are missing), and for ``attngan-eval`` the CLIP score and
    CLIP-R-precision (skipped with a warning without ``metrics.clip.model_path``).

    Args:
        dataset: the data module's dataset name (``"shapes"``, ``"cub"``, ...).
        during_training: the defaults of the training callback (no Inception on shapes).
    """
    if dataset == "shapes":
        return [
            "r_precision",
            *([] if during_training else ["fid"]),
            "shapes_oracle",
            "attention_localisation",
        ]
    if during_training:
        return ["r_precision", "is", "fid"]
    return ["r_precision", "clip_r_precision", "clip_score", "is", "fid"]


def _lower_to(options: MetricOptions, total: int) -> MetricOptions:
    """``options`` with IS splits, R-precision candidates and folds no more than ``total`` images allow."""
    num_candidates = max(2, min(options.num_candidates, total))
    if num_candidates < options.num_candidates:
        log.warning(
            "val/r_precision ranks %d candidates instead of %d: only %d test images are evaluated "
            "(callbacks.evaluation.num_images or the test split is smaller)",
            num_candidates,
            options.num_candidates,
            total,
        )
    return replace(
        options,
        is_splits=max(1, min(options.is_splits, total)),
        num_candidates=num_candidates,
        num_folds=max(1, min(options.num_folds, total)),
    )


class MetricSuite:
    """The configured metrics of one evaluation, fed with generated batches.

    Args:
        names: metrics to compute (see :data:`~attngan.metrics.registry.METRIC_NAMES`); ``None``:
            :func:`default_metric_names`, leaving out (with a warning) those that cannot run here.
            Names given explicitly must run, else an error.
        dataset: the dataset name (:data:`~attngan.metrics.options.SHAPES_DATA` means ``"shapes"``).
        root: the dataset's root; on shapes its ``ground_truth.json`` gives the object masks.
        has_attention: whether the generator has attention stages.
        options: how to measure (:class:`~attngan.metrics.options.MetricOptions`); with ``strict``, a metric
            that cannot run is an error even among the defaults.
        num_images: the images this evaluation generates. During training the IS splits, R-precision
            candidates and folds are lowered to it (candidates with a warning); otherwise too few is an error.
        during_training: the training callback's suite: with ``names=None`` its defaults; FID's real
            statistics are kept across :meth:`reset` (the same real images are compared again and again).

    Attributes:
        metrics: ``{name: torchmetrics.Metric}`` of the metrics that run.
        skipped: the requested names that do not run, with the reason.
    """

    def __init__(
        self,
        names: Sequence[str] | None,
        *,
        dataset: str | None,
        root: str | Path | None = None,
        has_attention: bool = True,
        options: MetricOptions | None = None,
        num_images: int | None = None,
        during_training: bool = False,
    ) -> None:
        options = options or MetricOptions()
        if num_images is not None and during_training:
            options = _lower_to(options, num_images)
        explicit = names is not None
        requested = list(names) if names is not None else default_metric_names(dataset, during_training)
        check_metric_names(requested)
        self.dataset = dataset
        self.has_attention = bool(has_attention)
        self.ground_truth: dict[str, ShapesImage] | None = None
        if dataset == "shapes" and root is not None:
            from attngan.data.shapes import load_ground_truth

            self.ground_truth = load_ground_truth(root)
        self.skipped: dict[str, str] = {}
        usable = []
        for name in dict.fromkeys(requested):  # keeps the order, drops repeats
            reason = self._unmet_need(name)
            if reason is None:
                usable.append(name)
            elif explicit or options.strict:
                raise ConfigError(f"metric {name!r} cannot run: {reason}. Remove it from the metric names.")
            else:
                self.skipped[name] = reason
        # names given explicitly must run: missing Inception weights are then an error too
        self.metrics, skipped = build_available(usable, replace(options, strict=options.strict or explicit))
        for reason in dict.fromkeys(skipped.values()):  # IS and FID share one reason: one line
            log.warning("Skipping metric(s) %s: %s", [n for n, r in skipped.items() if r == reason], reason)
        self.skipped.update(skipped)
        self.metrics = {n: self.metrics[n] for n in usable if n in self.metrics}
        if during_training:
            for metric in self._needing(REAL_IMAGES).values():
                metric.reset_real_features = False  # type: ignore[assignment]
        elif num_images is not None:
            self._check_enough(num_images, options)
        self._masks: dict[str, Tensor] = {}
        self.real_images_seen = 0

    def _unmet_need(self, name: str) -> str | None:
        """Why metric ``name`` cannot run with this data and generator (``None``: it can)."""
        needs = METRICS[name].needs
        if SHAPES_DATA in needs and self.dataset != "shapes":
            return f"it needs the shapes dataset (data=shapes), not {self.dataset!r}"
        if ATTENTION in needs and not self.has_attention:
            return "the generator has a single stage, so no attention maps"
        if SHAPES_GROUND_TRUTH in needs and self.ground_truth is None:
            return "no shapes ground truth (ground_truth.json) was found"
        return None

    def _check_enough(self, num_images: int, options: MetricOptions) -> None:
        needs = {
            "r_precision": (options.num_candidates, "metrics.num_candidates"),
            "clip_r_precision": (options.num_candidates, "metrics.num_candidates"),
            "is": (options.is_splits, "metrics.is_splits"),
        }
        for name, (needed, key) in needs.items():
            if name in self.metrics and num_images < needed:
                raise ConfigError(
                    f"num_images={num_images} is too few for {name} with {key}={needed}: raise num_images or "
                    f"lower {key}"
                )
        if "r_precision" in self.metrics and num_images < options.num_folds:
            raise ConfigError(f"num_images={num_images} is fewer than metrics.num_folds={options.num_folds}")

    def _needing(self, need: str) -> dict[str, Metric]:
        return {n: m for n, m in self.metrics.items() if need in METRICS[n].needs}

    # -------------------------------------------------------------- state
    @property
    def names(self) -> list[str]:
        """The metrics that run, in order."""
        return list(self.metrics)

    def needs(self, need: str) -> bool:
        """Whether a metric that runs needs ``need`` (e.g. :data:`~attngan.metrics.options.DAMSM`)."""
        return bool(self._needing(need))

    @property
    def needs_real_images(self) -> bool:
        """Whether a metric still wants real images (:meth:`update_real`)."""
        return self.needs(REAL_IMAGES) and self.real_images_seen == 0

    def to(self, device: torch.device | str) -> MetricSuite:
        for metric in self.metrics.values():
            metric.to(device)
        return self

    def reset(self) -> None:
        """Forget the generated samples (the real statistics too, except during training)."""
        for metric in self.metrics.values():
            metric.reset()
        if any(m.reset_real_features for m in self._needing(REAL_IMAGES).values()):
            self.real_images_seen = 0

    # -------------------------------------------------------------- updates
    def update_real(self, images: Tensor) -> None:
        """Real test images ``(B, 3, H, W)`` in [-1, 1] at the generator's final size (FID's real side)."""
        real = self._needing(REAL_IMAGES)
        if real:
            update_metrics(real, MetricInputs(real_images=images))
            self.real_images_seen += int(images.shape[0])

    def update_real_batches(self, batches: Iterable[Mapping[str, Any]], device: torch.device | str) -> None:
        """Every batch of a caption/image data loader (``batch["images"][-1]``, the final size) as real images."""
        for batch in batches:
            self.update_real(batch["images"][-1].to(device))

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
        batch: CaptionBatch,
        output: GeneratorOutput,
        sentence_features: Tensor,
        image_features: Tensor | None,
        use_class_ids: bool,
    ) -> None:
        """Add one generated batch.

        Args:
            batch: its captions (``class_ids``, ``indices``, ``keys``, ``tokens``).
            output: the generator's output for its captions.
            sentence_features: ``(B, D)`` DAMSM sentence vectors of its captions.
            image_features: ``(B, D)`` DAMSM global vectors of the final images (R-precision).
            use_class_ids: mismatched R-precision captions come from other classes (datasets with classes).
        """
        images = output.images[-1].float()  # (B, 3, H, W)
        device = images.device
        inputs = MetricInputs(
            images=images,
            texts=batch.get("texts"),
            image_features=image_features,
            sentence_features=sentence_features,
            class_ids=batch["class_ids"].to(device) if use_class_ids else None,
            captions=batch["tokens"],
            indices=batch["indices"].to(device),
        )
        if self.needs(SHAPES_GROUND_TRUTH):
            assert self.ground_truth is not None
            keys = batch["keys"]
            inputs.attention = output.attention[-1].float()  # (B, T, h, w), the last attention stage
            inputs.object_masks = self._mask_batch(keys).to(device)
            inputs.objects = [self.ground_truth[k].objects for k in keys]
        update_metrics(self.metrics, inputs)

    # -------------------------------------------------------------- results
    def compute(self) -> dict[str, float]:
        """Every result as a float under its final name; NaN where nothing was counted. Call on every process
        (the states are reduced across processes)."""
        return compute_metrics(self.metrics)

    def describe(self) -> dict[str, Any]:
        """How IS/FID were measured (``inception_weights``, ``inception_resize``) and what was skipped, with why."""
        info: dict[str, Any] = dict(describe_metrics(self.metrics))
        if self.skipped:
            info["skipped"] = dict(self.skipped)
        return info


@torch.no_grad()
def measure(
    suite: MetricSuite,
    batches: Iterable[CaptionBatch],
    text_encoder: TextEncoder,
    generator: Generator,
    image_encoder: nn.Module | None,
    seed: int,
    use_class_ids: bool,
    on_batch: Callable[[CaptionBatch, GeneratorOutput], None] | None = None,
) -> None:
    """Generate the images of every caption batch and add them to ``suite``.

    Sample ``i`` gets its noise from ``(seed, i)`` (:func:`~attngan.models.generate.sample_noise`), so a
    value does not depend on the batch size, the device or the number of processes.

    Args:
        suite: the metrics to feed.
        batches: from :func:`~attngan.evaluation.captions.caption_batches`.
        text_encoder, generator, image_encoder: the networks (the image encoder only when R-precision runs).
        seed: the noise seed.
        use_class_ids: mismatched R-precision captions come from other classes.
        on_batch: called with ``(batch, GeneratorOutput)`` after each batch (e.g. to save the images).
    """
    image_encoder = image_encoder if suite.needs(DAMSM) else None
    z_dim, condition_dim = int(generator.z_dim), int(generator.condition_dim)
    for batch in batches:
        noise, condition_noise = sample_noise(batch["indices"], z_dim, condition_dim, seed)
        output, sentence, image_global = generate(
            text_encoder,
            generator,
            batch["captions"],
            batch["lengths"],
            noise,
            condition_noise,
            image_encoder=image_encoder,
        )
        suite.update(batch, output, sentence, image_global, use_class_ids)
        if on_batch is not None:
            on_batch(batch, output)
