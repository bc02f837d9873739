"""Build a configured list of metrics by name, feed them one kind of batch, and collect JSON-ready results.

``attngan-eval`` asks for metrics by name (``metrics.names: [is, fid, r_precision, shapes_oracle]``):

- ``is``, ``fid``: need the Inception weights file (``metrics.inception_weights`` or the torch hub cache).
  When it is missing they are skipped with a :class:`MetricSkippedWarning`, unless ``strict=True`` or the
  path was configured explicitly, which raise :class:`~attngan.errors.WeightsNotFoundError`.
- ``r_precision``: DAMSM global image vs sentence vectors.
- ``shapes_oracle``: generated images vs their shapes captions.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

from torch import Tensor, nn
from torchmetrics import Metric

from attngan.errors import ConfigError, WeightsNotFoundError
from attngan.metrics.inception import FrechetInceptionDistance, InceptionFeatures, InceptionScore
from attngan.metrics.r_precision import RPrecision
from attngan.metrics.shapes_oracle import ShapesOracle

__all__ = ["METRIC_NAMES", "MetricSkippedWarning", "build_metrics", "compute_metrics", "update_metrics"]

METRIC_NAMES: tuple[str, ...] = ("is", "fid", "r_precision", "shapes_oracle")


class MetricSkippedWarning(UserWarning):
    """A requested metric cannot run here (e.g. no Inception weights) and was left out."""


def build_metrics(
    names: Sequence[str],
    *,
    inception_weights: str | os.PathLike[str] | None = None,
    feature_extractor: nn.Module | None = None,
    antialias: bool = False,
    strict: bool = False,
    is_splits: int = 10,
    num_candidates: int = 100,
    num_folds: int = 10,
    seed: int = 0,
    oracle_kwargs: dict | None = None,
) -> dict[str, Metric]:
    """Create the metrics named in ``names``.

    Args:
        names: any of :data:`METRIC_NAMES`, in the order results should be reported.
        inception_weights: ``metrics.inception_weights``; ``None`` looks in ``$TORCH_HOME/hub/checkpoints``.
        feature_extractor: a network to use instead of Inception for IS/FID (tests, custom features).
        antialias: resize for Inception with antialiasing (torchmetrics default) instead of torch-fidelity's
            TensorFlow-compatible bilinear (ours).
        strict: raise instead of skipping IS/FID when the weights are missing.
        is_splits: Inception-score splits (10 in the paper).
        num_candidates: R-precision candidates per image (100 in the paper).
        num_folds: R-precision folds (10 in the paper).
        seed: seed of the R-precision mismatch draw and of the IS split shuffle.
        oracle_kwargs: keyword arguments of :class:`ShapesOracle`.

    Returns:
        ``{name: Metric}`` for the metrics that can run; IS and FID share one Inception network.

    Raises:
        ConfigError: an unknown metric name.
        WeightsNotFoundError: IS/FID asked for with ``strict=True`` or an explicit missing
            ``inception_weights`` path.
    """
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown} in metrics.names; choose from {list(METRIC_NAMES)}")
    metrics: dict[str, Metric] = {}
    extractor: InceptionFeatures | None = None
    if {"is", "fid"} & set(names):
        try:
            extractor = InceptionFeatures(
                feature_extractor, weights_path=inception_weights, antialias=antialias
            )
        except WeightsNotFoundError as err:
            if strict or inception_weights not in (None, ""):
                raise
            skipped = [n for n in names if n in ("is", "fid")]
            warnings.warn(f"Skipping metric(s) {skipped}: {err}", MetricSkippedWarning, stacklevel=2)
    for name in names:
        if name == "is" and extractor is not None:
            metrics[name] = InceptionScore(extractor, splits=is_splits, seed=seed)
        elif name == "fid" and extractor is not None:
            metrics[name] = FrechetInceptionDistance(extractor)
        elif name == "r_precision":
            metrics[name] = RPrecision(num_candidates=num_candidates, num_folds=num_folds, seed=seed)
        elif name == "shapes_oracle":
            metrics[name] = ShapesOracle(**(oracle_kwargs or {}))
    return metrics


def update_metrics(
    metrics: dict[str, Metric],
    *,
    images: Tensor | None = None,
    real_images: Tensor | None = None,
    image_features: Tensor | None = None,
    sentence_features: Tensor | None = None,
    class_ids: Tensor | None = None,
    captions: Sequence[str] | None = None,
    indices: Tensor | None = None,
) -> None:
    """Feed one evaluation batch to every metric, each taking what it needs.

    Args:
        images: ``(B, 3, H, W)`` generated images in [-1, 1] (IS, FID fake side, shapes oracle).
        real_images: ``(B', 3, H, W)`` real test images in [-1, 1] (FID real side); may come in other batches.
        image_features: ``(B, D)`` DAMSM global vectors of ``images`` (R-precision).
        sentence_features: ``(B, D)`` DAMSM sentence vectors of their captions (R-precision).
        class_ids: ``(B,)`` class ids, -1 unknown (R-precision mismatches).
        captions: ``B`` caption strings (shapes oracle).
        indices: ``(B,)`` positions in the evaluation set (R-precision order, see :class:`RPrecision`).
    """
    for metric in metrics.values():
        if isinstance(metric, InceptionScore) and images is not None:
            metric.update(images)
        elif isinstance(metric, FrechetInceptionDistance):
            if images is not None:
                metric.update(images, real=False)
            if real_images is not None:
                metric.update(real_images, real=True)
        elif isinstance(metric, RPrecision) and image_features is not None and sentence_features is not None:
            metric.update(image_features, sentence_features, class_ids, indices)
        elif isinstance(metric, ShapesOracle) and images is not None and captions is not None:
            metric.update(images, captions)


def compute_metrics(metrics: dict[str, Metric]) -> dict[str, float | int | str]:
    """Compute every metric into one flat, JSON-ready dict.

    IS and FID also report what they were measured with: ``is_resize`` / ``fid_resize`` (the resize and
    antialias setting) and ``inception_weights``.
    """
    results: dict[str, float | int | str] = {}
    for name, metric in metrics.items():
        for key, value in metric.compute().items():
            results[key] = value.item() if isinstance(value, Tensor) else value
        if isinstance(metric, InceptionScore | FrechetInceptionDistance):
            description = metric.inception.describe()
            results[f"{name}_resize"] = description["resize"]
            results["inception_weights"] = description["weights"]
    return results
