"""The one metric registry: every metric by name, what it needs, the results it writes and their direction.

A metric is asked for by name (``metrics.names`` of ``attngan-eval``, ``callbacks.evaluation.metrics`` of
training). Its :class:`MetricEntry` declares

- ``needs``: what must be at hand (:data:`REAL_IMAGES`, :data:`DAMSM`, :data:`INCEPTION`, :data:`CLIP`,
  :data:`SHAPES_DATA`, :data:`SHAPES_GROUND_TRUTH`, :data:`ATTENTION`); the evaluation suite checks them before
  building;
- ``results``: the names its ``compute()`` writes. They are the final names, the same in ``metrics.json``,
  ``val/<name>`` of the loggers and the sweep report; each says whether higher is better;
- ``build``: the factory of its torchmetrics ``Metric``, and ``update``: how it takes one
  :class:`MetricInputs` batch.

=========================  ===========================================  =============================================
name                       needs                                        results
=========================  ===========================================  =============================================
``r_precision``            DAMSM encoders                               ``r_precision``, ``r_precision_std``
``clip_score``             a local CLIP model                           ``clip_score``, ``clip_cosine``
``clip_r_precision``       a local CLIP model                           ``clip_r_precision``, ``clip_r_precision_std``
``is``                     Inception weights                            ``inception_score``, ``inception_score_std``
``fid``                    Inception weights, real images               ``fid``
``shapes_oracle``          shapes data                                  ``shapes_{colour,position,shape,size}_acc``..
``attention_localisation`` shapes ground truth, attention maps          ``attention_localisation``, ...
=========================  ===========================================  =============================================

IS and FID need the Inception weights file (``metrics.inception_weights`` or the torch hub cache); when it is
missing they are skipped, unless ``strict=True`` or the path was configured explicitly, which raise
:class:`~attngan.errors.WeightsNotFoundError`. They share one Inception network under the default protocols
(``metrics.fid.protocol=tf``, ``metrics.is.classifier=imagenet``); the ``torchvision`` / ``clean`` FID protocols
(:mod:`attngan.metrics.fid`) and the CUB classifier (:mod:`attngan.metrics.inception_cub`) bring their own, and
``describe_metrics(...)["protocols"]`` records what each used (``metrics.json``'s ``protocols``). The CLIP metrics
(:mod:`attngan.metrics.clip`) work the same way with ``metrics.clip.model_path`` and share one CLIP model.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn
from torchmetrics import Metric

from attngan.errors import ConfigError, WeightsNotFoundError
from attngan.metrics.clip import CLIPFeatures, CLIPRPrecision, CLIPScore
from attngan.metrics.fid import ProtocolFeatures, ProtocolFID, check_protocol
from attngan.metrics.inception import InceptionFeatures, InceptionScore
from attngan.metrics.r_precision import RPrecision

__all__ = [
    "ATTENTION",
    "CLIP",
    "DAMSM",
    "INCEPTION",
    "METRICS",
    "METRIC_NAMES",
    "REAL_IMAGES",
    "SHAPES_DATA",
    "SHAPES_GROUND_TRUTH",
    "MetricEntry",
    "MetricInputs",
    "MetricOptions",
    "MetricSkippedWarning",
    "Result",
    "build_available",
    "build_metrics",
    "compute_metrics",
    "describe_inception_protocols",
    "describe_metrics",
    "higher_is_better",
    "inception_protocol_options",
    "result_entry",
    "update_metrics",
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
    """How metrics are measured (the ``metrics`` config group).

    Attributes:
        inception_weights: ``metrics.inception_weights``; ``None`` looks in ``$TORCH_HOME/hub/checkpoints``.
        feature_extractor: a network to use instead of Inception for IS/FID (tests, custom features).
        antialias: resize for Inception with antialiasing (torchmetrics default) instead of torch-fidelity's
            TensorFlow-compatible bilinear (ours).
        strict: raise instead of skipping IS/FID when the weights are missing.
        is_splits: Inception-score splits (10 in the paper).
        num_candidates: R-precision candidates per image (100 in the paper).
        num_folds: R-precision folds (10 in the paper).
        seed: seed of the R-precision mismatch draw and of the IS split shuffle.
        r_precision_protocol: ``metrics.r_precision.protocol``: ``"default"`` or ``"dmgan"``
            (:mod:`attngan.metrics.r_precision`); the DAMSM R-precision only.
        clip_model_path: ``metrics.clip.model_path``, a local CLIP model directory; ``None``: the CLIP metrics
            are skipped.
        fid_protocol: ``metrics.fid.protocol``: ``"tf"``, ``"torchvision"`` or ``"clean"``
            (:mod:`attngan.metrics.fid`).
        fid_weights: ``metrics.fid.weights``, the protocol's Inception file (``tf``/``clean``: default
            ``inception_weights``); ``None``: the torch hub cache.
        fid_reference: ``metrics.fid.reference``, an ``.npz`` with ``mu``/``sigma`` of the real images, used
            instead of real images (:mod:`attngan.metrics.reference_stats`).
        is_classifier: ``metrics.is.classifier``: ``"imagenet"`` (the TF-ported Inception) or
            ``"cub_finetuned"`` (StackGAN's birds Inception, :mod:`attngan.metrics.inception_cub`).
        is_weights: ``metrics.is.weights``, the converted CUB classifier (``cub_finetuned`` only).
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
    is_classifier: str = "imagenet"
    is_weights: str | os.PathLike[str] | None = None
    oracle_kwargs: Mapping[str, Any] | None = None


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
    texts: Sequence[str] | None = None
    image_features: Tensor | None = None
    sentence_features: Tensor | None = None
    class_ids: Tensor | None = None
    captions: Sequence[Any] | None = None
    indices: Tensor | None = None
    attention: Tensor | None = None
    object_masks: Tensor | None = None
    objects: Sequence[Any] | None = None


class _Shared:
    """What several metrics of one build share: the Inception network, built once on first use."""

    def __init__(self, options: MetricOptions) -> None:
        self.options = options
        self._inception: InceptionFeatures | None = None
        self._clip: CLIPFeatures | None = None

    def inception(self) -> InceptionFeatures:
        if self._inception is None:
            options = self.options
            self._inception = InceptionFeatures(
                options.feature_extractor, weights_path=options.inception_weights, antialias=options.antialias
            )
        return self._inception

    def fid_features(self) -> nn.Module:
        """The FID network of ``fid_protocol``; ``tf`` (and an injected network) shares :meth:`inception`."""
        options = self.options
        check_protocol(options.fid_protocol)
        if options.feature_extractor is not None or (
            options.fid_protocol == "tf" and options.fid_weights in (None, "")
        ):
            return self.inception()
        return ProtocolFeatures(options.fid_protocol, options.fid_weights or options.inception_weights)

    def is_features(self) -> nn.Module:
        """The Inception-score classifier of ``is_classifier``."""
        if self.options.is_classifier == "cub_finetuned":
            from attngan.metrics.inception_cub import CUBInceptionFeatures

            return CUBInceptionFeatures(self.options.is_weights)
        if self.options.is_classifier != "imagenet":
            raise ConfigError(
                f"metrics.is.classifier={self.options.is_classifier!r}: choose imagenet or cub_finetuned"
            )
        return self.inception()

    def clip(self) -> CLIPFeatures:
        if self._clip is None:
            self._clip = CLIPFeatures(self.options.clip_model_path)
        return self._clip


@dataclass(frozen=True)
class MetricEntry:
    """A metric of the registry (see the module docstring).

    Attributes:
        name: the name users ask for.
        description: one line for humans.
        needs: what it needs (the constants of this module).
        results: every value its ``compute()`` writes, under its final name.
        build: ``(options, shared) -> Metric``.
        update: ``(metric, inputs) -> None``, feeding the fields of :class:`MetricInputs` it uses.
    """

    name: str
    description: str
    needs: frozenset[str]
    results: tuple[Result, ...]
    build: Callable[[MetricOptions, _Shared], Metric] = field(repr=False)
    update: Callable[[Metric, MetricInputs], None] = field(repr=False)

    @property
    def result_names(self) -> tuple[str, ...]:
        return tuple(result.name for result in self.results)


# ------------------------------------------------------------------------------------------ entries
def _update_r_precision(metric: Metric, inputs: MetricInputs) -> None:
    if inputs.image_features is not None and inputs.sentence_features is not None:
        metric.update(inputs.image_features, inputs.sentence_features, inputs.class_ids, inputs.indices)


def _update_inception_score(metric: Metric, inputs: MetricInputs) -> None:
    if inputs.images is not None:
        metric.update(inputs.images)


def _update_fid(metric: Metric, inputs: MetricInputs) -> None:
    if inputs.images is not None:
        metric.update(inputs.images, real=False)
    if inputs.real_images is not None:
        metric.update(inputs.real_images, real=True)


def _caption_texts(inputs: MetricInputs) -> Sequence[Any] | None:
    return inputs.texts if inputs.texts is not None else inputs.captions


def _update_clip_score(metric: Metric, inputs: MetricInputs) -> None:
    texts = _caption_texts(inputs)
    if inputs.images is not None and texts is not None:
        metric.update(inputs.images, texts)


def _update_clip_r_precision(metric: Metric, inputs: MetricInputs) -> None:
    texts = _caption_texts(inputs)
    if inputs.images is not None and texts is not None:
        metric.update(inputs.images, texts, inputs.class_ids, inputs.indices)


def _update_shapes_oracle(metric: Metric, inputs: MetricInputs) -> None:
    if inputs.images is not None and inputs.captions is not None:
        metric.update(inputs.images, inputs.captions)


def _update_attention_localisation(metric: Metric, inputs: MetricInputs) -> None:
    if inputs.attention is not None and inputs.captions is not None and inputs.object_masks is not None:
        metric.update(inputs.attention, inputs.captions, inputs.object_masks, objects=inputs.objects)


def _build_fid(options: MetricOptions, shared: _Shared) -> Metric:
    from attngan.metrics.reference_stats import load_reference

    reference = load_reference(options.fid_reference) if options.fid_reference not in (None, "") else None
    return ProtocolFID(shared.fid_features(), reference=reference)


def _build_shapes_oracle(options: MetricOptions, shared: _Shared) -> Metric:
    from attngan.metrics.shapes_oracle import ShapesOracle

    return ShapesOracle(**dict(options.oracle_kwargs or {}))


def _build_attention_localisation(options: MetricOptions, shared: _Shared) -> Metric:
    from attngan.metrics.attention_localisation import AttentionLocalisation

    return AttentionLocalisation()


def _shapes_results() -> tuple[Result, ...]:
    attributes = ("colour", "position", "shape", "size")
    return (
        *(Result(f"shapes_{a}_acc", True) for a in attributes),
        *(Result(f"shapes_single_object_{a}_acc", True) for a in attributes),
        Result("shapes_image_acc", True),
        Result("shapes_num_objects", True, headline=False),
    )


_ENTRIES = (
    MetricEntry(
        "r_precision",
        "top-1 retrieval of the own caption among num_candidates by DAMSM cosine, mean/std over folds",
        frozenset({DAMSM}),
        (Result("r_precision", True), Result("r_precision_std", False, headline=False)),
        lambda o, s: RPrecision(
            num_candidates=o.num_candidates,
            num_folds=o.num_folds,
            seed=o.seed,
            protocol=o.r_precision_protocol,
        ),
        _update_r_precision,
    ),
    MetricEntry(
        "clip_r_precision",
        "top-1 retrieval of the own caption among num_candidates by CLIP cosine, mean/std over folds",
        frozenset({CLIP}),
        (Result("clip_r_precision", True), Result("clip_r_precision_std", False, headline=False)),
        lambda o, s: CLIPRPrecision(
            s.clip(), num_candidates=o.num_candidates, num_folds=o.num_folds, seed=o.seed
        ),
        _update_clip_r_precision,
    ),
    MetricEntry(
        "clip_score",
        "torchmetrics' CLIP score, max(100 * mean cosine, 0) of CLIP image and caption embeddings",
        frozenset({CLIP}),
        (Result("clip_score", True), Result("clip_cosine", True, headline=False)),
        lambda o, s: CLIPScore(s.clip()),
        _update_clip_score,
    ),
    MetricEntry(
        "is",
        "Inception score over is_splits splits (ImageNet Inception)",
        frozenset({INCEPTION}),
        (Result("inception_score", True), Result("inception_score_std", False, headline=False)),
        lambda o, s: InceptionScore(s.is_features(), splits=o.is_splits, seed=o.seed),
        _update_inception_score,
    ),
    MetricEntry(
        "fid",
        "Frechet distance of Inception pool features, generated vs real test images",
        frozenset({INCEPTION, REAL_IMAGES}),
        (Result("fid", False),),
        _build_fid,
        _update_fid,
    ),
    MetricEntry(
        "shapes_oracle",
        "colour/position/shape of every object the shapes caption names, checked on the pixels",
        frozenset({SHAPES_DATA}),
        _shapes_results(),
        _build_shapes_oracle,
        _update_shapes_oracle,
    ),
    MetricEntry(
        "attention_localisation",
        "share of colour/shape words' attention inside their object's ground-truth mask",
        frozenset({SHAPES_DATA, SHAPES_GROUND_TRUTH, ATTENTION}),
        (
            Result("attention_localisation", True),
            Result("attention_colour_word_localisation", True),
            Result("attention_shape_word_localisation", True),
            Result("attention_uniform_baseline", True, headline=False),
            Result("attention_num_words", True, headline=False),
        ),
        _build_attention_localisation,
        _update_attention_localisation,
    ),
)

#: Every metric by name, in the order results are reported.
METRICS: dict[str, MetricEntry] = {entry.name: entry for entry in _ENTRIES}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
_RESULTS: dict[str, Result] = {r.name: r for entry in _ENTRIES for r in entry.results}


def result_entry(name: str) -> Result | None:
    """The declaration of a result name (``"fid"``, ``"val/fid"``), or ``None`` when no metric writes it."""
    return _RESULTS.get(name.removeprefix("val/"))


def higher_is_better(name: str) -> bool:
    """Whether a higher value of the result ``name`` (``"fid"`` or the logged ``"val/fid"``) is better.

    Raises:
        KeyError: no metric of the registry writes ``name``.
    """
    result = result_entry(name)
    if result is None:
        raise KeyError(f"no metric writes a result named {name!r}; known: {sorted(_RESULTS)}")
    return result.higher_is_better


# ------------------------------------------------------------------------------------------ building
def _check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown} in metrics.names; choose from {list(METRIC_NAMES)}")


def _path_configured(entry: MetricEntry, options: MetricOptions) -> bool:
    """Whether a weights path the metric needs was configured explicitly (then missing files are errors)."""
    return (
        (INCEPTION in entry.needs and options.inception_weights not in (None, ""))
        or (entry.name == "fid" and options.fid_weights not in (None, ""))
        or (
            entry.name == "is"
            and (options.is_classifier != "imagenet" or options.is_weights not in (None, ""))
        )
        or (CLIP in entry.needs and options.clip_model_path not in (None, ""))
    )


def build_available(
    names: Sequence[str], options: MetricOptions | None = None
) -> tuple[dict[str, Metric], dict[str, str]]:
    """Create the metrics named in ``names`` that can run here.

    Args:
        names: any of :data:`METRIC_NAMES` (repeats are dropped), in the order results should be reported.
        options: how to measure (default :class:`MetricOptions`).

    Returns:
        ``({name: Metric}, {name: why it was skipped})``; IS and FID share one Inception network.

    Raises:
        ConfigError: an unknown metric name.
        WeightsNotFoundError: IS/FID (CLIP metrics) asked for with ``strict=True`` or an explicit missing
            ``inception_weights`` (``clip_model_path``) path.
    """
    _check_names(names)
    options = options or MetricOptions()
    shared = _Shared(options)
    metrics: dict[str, Metric] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(names):
        try:
            metrics[name] = METRICS[name].build(options, shared)
        except WeightsNotFoundError as err:
            if options.strict or _path_configured(METRICS[name], options):
                raise
            skipped[name] = " ".join(str(err).split())  # one line, for logs and the Markdown notes
    return metrics, skipped


def build_metrics(names: Sequence[str], **options: Any) -> dict[str, Metric]:
    """Create the metrics named in ``names``, skipping those that cannot run with a :class:`MetricSkippedWarning`.

    Args:
        names: any of :data:`METRIC_NAMES`.
        **options: the fields of :class:`MetricOptions` (``inception_weights``, ``feature_extractor``,
            ``antialias``, ``strict``, ``is_splits``, ``num_candidates``, ``num_folds``, ``seed``,
            ``oracle_kwargs``).

    Returns:
        ``{name: Metric}`` for the metrics that can run.
    """
    metrics, skipped = build_available(names, MetricOptions(**options))
    for reason in dict.fromkeys(skipped.values()):
        which = [n for n, r in skipped.items() if r == reason]
        warnings.warn(f"Skipping metric(s) {which}: {reason}", MetricSkippedWarning, stacklevel=2)
    return metrics


# ------------------------------------------------------------------------------------------ using
def update_metrics(metrics: Mapping[str, Metric], inputs: MetricInputs | None = None, **fields: Any) -> None:
    """Feed one evaluation batch to every metric, each taking what it needs.

    Args:
        metrics: ``{name: Metric}`` from :func:`build_metrics` / :func:`build_available`.
        inputs: the batch; or give its fields as keywords (``images=..., real_images=...``).
    """
    inputs = inputs if inputs is not None else MetricInputs(**fields)
    for name, metric in metrics.items():
        METRICS[name].update(metric, inputs)


def compute_metrics(metrics: Mapping[str, Metric]) -> dict[str, float]:
    """Compute every metric into one flat dict of floats under the declared result names (NaN: nothing counted).

    Raises:
        RuntimeError: a metric wrote a result its registry entry does not declare.
    """
    results: dict[str, float] = {}
    for name, metric in metrics.items():
        declared = METRICS[name].result_names
        for key, value in metric.compute().items():
            if key not in declared:
                raise RuntimeError(
                    f"metric {name!r} wrote {key!r}, which its registry entry does not declare ({declared}); "
                    "add it to the entry's results in attngan/metrics/registry.py"
                )
            results[key] = float(value.item() if isinstance(value, Tensor) else value)
    return results


def describe_metrics(metrics: Mapping[str, Metric]) -> dict[str, str]:
    """What IS/FID were measured with: ``inception_weights`` (file or "injected network") and
    ``inception_resize``; the CLIP metrics: ``clip_model``, ``clip_architecture``; empty when none runs."""
    info: dict[str, str] = {}
    for name, metric in metrics.items():
        if INCEPTION in METRICS[name].needs and "inception_weights" not in info:
            description = metric.inception.describe()  # type: ignore[union-attr]
            info.update(inception_weights=description["weights"], inception_resize=description["resize"])
        if CLIP in METRICS[name].needs and "clip_model" not in info:
            info.update(metric.clip.describe())  # type: ignore[union-attr]
    protocols = describe_inception_protocols(metrics)
    if protocols:
        info["protocols"] = protocols
    return info


def inception_protocol_options(
    fid: Mapping[str, Any] | None, inception_score: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The :class:`MetricOptions` fields of the ``metrics.fid`` and ``metrics.is`` config groups.

    Args:
        fid: ``{"protocol", "weights", "reference", ...}`` (``metrics.fid``; ``None``: defaults).
        inception_score: ``{"classifier", "weights"}`` (``metrics.is``; ``None``: defaults).
    """
    fid, inception_score = fid or {}, inception_score or {}
    return {
        "fid_protocol": str(fid.get("protocol") or "tf"),
        "fid_weights": fid.get("weights") or None,
        "fid_reference": fid.get("reference") or None,
        "is_classifier": str(inception_score.get("classifier") or "imagenet"),
        "is_weights": inception_score.get("weights") or None,
    }


def describe_inception_protocols(metrics: Mapping[str, Metric]) -> dict[str, dict[str, Any]]:
    """Per IS/FID metric, what ``metrics.json`` records of its protocol: ``protocol`` / ``classifier``,
    ``weights`` and ``weights_sha256``, ``resize``, ``num_images``, IS ``splits``, FID ``reference`` (the
    statistics file, ``None`` when they came from the real images of this run) and ``num_reference_images``."""
    described: dict[str, dict[str, Any]] = {}
    if "fid" in metrics:
        fid = metrics["fid"]
        reference = getattr(fid, "reference", None)
        real = int(getattr(fid, "real_features_num_samples", 0))
        described["fid"] = {
            "protocol": "tf",
            **fid.inception.describe(),  # type: ignore[union-attr, operator]
            "num_images": int(fid.fake_features_num_samples),  # type: ignore[arg-type]
            "reference": reference.path if reference is not None else None,
            "num_reference_images": reference.num_images if reference is not None else real,
        }
        if getattr(fid.inception, "injected", False):  # an injected feature network follows no protocol
            described["fid"]["protocol"] = "injected network"
    if "is" in metrics:
        score = metrics["is"]
        logits = score.features  # type: ignore[union-attr]
        counted = sum(int(x.shape[0]) for x in logits) if isinstance(logits, list) else int(logits.shape[0])
        described["is"] = {
            "classifier": "imagenet",
            **score.inception.describe(),  # type: ignore[union-attr, operator]
            "num_images": counted,
            "splits": int(score.splits),  # type: ignore[arg-type]
        }
    return described
