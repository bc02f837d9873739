"""What metrics are measured with: the needs a metric can declare, its result declarations, the measuring options
(the ``metrics`` config group) and one evaluation batch. The registry (:mod:`attngan.metrics.registry`) uses them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from torch import Tensor, nn

from attngan.errors import ConfigError

if TYPE_CHECKING:
    from attngan.metrics.attention_localisation import GroundTruthObject

__all__ = [
    "ATTENTION",
    "CLIP",
    "DAMSM",
    "INCEPTION",
    "REAL_IMAGES",
    "SHAPES_DATA",
    "SHAPES_GROUND_TRUTH",
    "MetricInputs",
    "MetricOptions",
    "MetricSkippedWarning",
    "Result",
]

# ------------------------------------------------------------------------------------------ needs
REAL_IMAGES = "real_images"  # real test images at the generator's final size (FID's real side)
DAMSM = "damsm_encoders"  # the DAMSM image encoder and the text encoder's sentence vectors
INCEPTION = "inception_weights"  # the Inception weights file (or an injected feature network)
SHAPES_DATA = "shapes_data"  # captions in the grammar of the built-in shapes data
SHAPES_GROUND_TRUTH = "shapes_ground_truth"  # the object masks of the shapes set's ground_truth.json
ATTENTION = "attention_maps"  # a generator with a refinement stage, so word-attention maps
CLIP = "clip_model"  # a local CLIP model directory (metrics.clip.model_path)


class MetricSkippedWarning(UserWarning):
    """A requested metric cannot run here (e.g. no Inception weights) and was left out."""


@dataclass(frozen=True)
class Result:
    """One value a metric writes.

    Attributes:
        name: the final result name (``metrics.json``, ``val/<name>``).
        higher_is_better: the direction of improvement (the sweep report's "best" uses it).
        headline: a score shown as its own column in reports; ``False`` for spreads, counts and reference values.
    """

    name: str
    higher_is_better: bool
    headline: bool = True


@dataclass(frozen=True)
class MetricOptions:
    """How metrics are measured: the ``metrics`` config group (conf/metrics/default.yaml), one field per key.

    The config key ``group.key`` is the field ``group_key`` (``r_precision.protocol`` -> ``r_precision_protocol``);
    :meth:`from_config` reads a config node. ``seed`` and ``oracle_kwargs`` are not keys of the group.

    Attributes:
        inception_weights: the IS/FID Inception weights file; ``None`` looks in ``$TORCH_HOME/hub/checkpoints``.
        feature_extractor: a network to use instead of Inception for IS/FID (tests, custom features).
        antialias: resize for Inception with antialiasing (torchmetrics default) instead of torch-fidelity's
            TensorFlow-compatible bilinear (ours).
        strict: raise instead of skipping IS/FID when the weights are missing.
        is_splits: Inception-score splits (10 in the paper).
        num_candidates: R-precision candidates per image (100 in the paper).
        num_folds: R-precision folds (10 in the paper).
        seed: seed of the R-precision mismatch draw and of the IS split shuffle (the evaluation's seed).
        r_precision_protocol: ``"default"`` or ``"dmgan"`` (:mod:`attngan.metrics.r_precision`, which checks
            it); the DAMSM R-precision only.
        clip_model_path: a local CLIP model directory; ``None``: the CLIP metrics are skipped.
        fid_protocol: ``"tf"``, ``"torchvision"`` or ``"clean"`` (:mod:`attngan.metrics.fid`).
        fid_weights: the protocol's Inception file (``tf``/``clean``: default ``inception_weights``); ``None``:
            the torch hub cache.
        fid_reference: an ``.npz`` with ``mu``/``sigma`` of the real images, used instead of real images
            (:mod:`attngan.metrics.reference_stats`).
        fid_cache: ``attngan-eval`` keeps the test images' FID statistics in ``<paths.cache_dir>/fid_reference/``.
        is_classifier: ``"imagenet"`` (the TF-ported Inception) or ``"cub_finetuned"`` (StackGAN's birds
            Inception, :mod:`attngan.metrics.inception_cub`).
        is_weights: the converted CUB classifier (``cub_finetuned`` only).
        oracle_kwargs: keyword arguments of :class:`~attngan.metrics.shapes_oracle.ShapesOracle`.
    """

    inception_weights: str | os.PathLike[str] | None = None
    feature_extractor: nn.Module | None = None
    antialias: bool = False
    strict: bool = False
    is_splits: int = 10
    num_candidates: int = 100
    num_folds: int = 10
    seed: int = 0
    r_precision_protocol: str = "default"
    clip_model_path: str | os.PathLike[str] | None = None
    fid_protocol: str = "tf"
    fid_weights: str | os.PathLike[str] | None = None
    fid_reference: str | os.PathLike[str] | None = None
    fid_cache: bool = True
    is_classifier: str = "imagenet"
    is_weights: str | os.PathLike[str] | None = None
    oracle_kwargs: Mapping[str, Any] | None = None

    @classmethod
    def from_config(
        cls, node: Mapping[str, Any] | None = None, *, seed: int = 0, where: str = "metrics"
    ) -> MetricOptions:
        """The options of a ``metrics`` config node; a key set to ``null`` keeps its field's default.

        Args:
            node: keys of conf/metrics/default.yaml (``metrics`` of ``attngan-eval``; for training they are
                merged into ``callbacks.evaluation``). A ``feature_extractor`` given as a Hydra spec
                (``_target_: ...``) is instantiated.
            seed: the evaluation's seed.
            where: the config path of ``node``, for the error message.

        Raises:
            ConfigError: a key that is not a metric option.
        """
        known = {f.name for f in fields(cls)} - _NOT_CONFIG_KEYS
        values: dict[str, Any] = {}
        unknown = []
        for key, value in _flat_items(node or {}):
            name = key.replace(".", "_")
            if name not in known:
                unknown.append(f"{where}.{key}")
            elif value is not None and value != "":
                values[name] = value
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown}: the metric options are the keys of conf/metrics/default.yaml"
            )
        extractor = values.get("feature_extractor")
        if isinstance(extractor, Mapping):
            from hydra.utils import instantiate

            values["feature_extractor"] = instantiate(extractor)
        return cls(**values, seed=int(seed))


# fields of MetricOptions that are not keys of the metrics config group
_NOT_CONFIG_KEYS = frozenset({"seed", "oracle_kwargs"})


def _flat_items(node: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of a config node, one group level deep; a ``_target_`` spec is one value."""
    for key, value in node.items():
        if isinstance(value, Mapping) and "_target_" not in value:
            for sub_key, sub_value in value.items():
                yield f"{key}.{sub_key}", sub_value
        else:
            yield str(key), value


@dataclass
class MetricInputs:
    """One evaluation batch; every metric takes the fields it needs (``None``: not in this batch).

    Attributes:
        images: ``(B, 3, H, W)`` generated images in [-1, 1] (IS, FID fake side, shapes oracle).
        real_images: ``(B', 3, H, W)`` real test images in [-1, 1] (FID real side); may come in other batches.
        texts: ``B`` caption strings of ``images`` (CLIP metrics; ``captions`` joined when missing).
        image_features: ``(B, D)`` DAMSM global vectors of ``images`` (R-precision).
        sentence_features: ``(B, D)`` DAMSM sentence vectors of their captions (R-precision).
        class_ids: ``(B,)`` class ids, -1 unknown (R-precision mismatches).
        captions: ``B`` captions as strings or word lists (shapes oracle, attention localisation).
        indices: ``(B,)`` positions in the evaluation set (R-precision order, see :class:`RPrecision`).
        attention: ``(B, T, h, w)`` the generator's last word-attention maps (attention localisation).
        object_masks: ``(B, H0, W0)`` ground-truth object labels, 0 background (attention localisation).
        objects: per image, its ground-truth objects (attention localisation).
    """

    images: Tensor | None = None
    real_images: Tensor | None = None
    texts: Sequence[str | Sequence[str]] | None = None
    image_features: Tensor | None = None
    sentence_features: Tensor | None = None
    class_ids: Tensor | None = None
    captions: Sequence[str | Sequence[str]] | None = None
    indices: Tensor | None = None
    attention: Tensor | None = None
    object_masks: Tensor | None = None
    objects: Sequence[Sequence[GroundTruthObject]] | None = None

    def __post_init__(self) -> None:
        if self.texts is None:  # the CLIP metrics read the captions then
            self.texts = self.captions
