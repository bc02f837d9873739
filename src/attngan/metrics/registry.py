"""The one metric registry: every metric by name, what it needs, the results it writes and their direction.

A metric is asked for by name (``metrics.names`` of ``attngan-eval``, ``callbacks.evaluation.metrics`` of
training). Its :class:`MetricEntry` (see ``_ENTRIES``) declares what must be at hand (``needs``, the constants
of :mod:`attngan.metrics.options`; the evaluation suite checks them before building), the results its
``compute()`` writes under their final names (``metrics.json``, ``val/<name>``, the sweep report), each with
its direction, and how to build and feed its torchmetrics ``Metric``.

IS and FID need the Inception weights file (``metrics.inception_weights`` or the torch hub cache); when it is
missing they are skipped, unless ``strict=True`` or the path was configured explicitly, which raise
:class:`~attngan.errors.WeightsNotFoundError`. They share one Inception network under the default protocols
(``metrics.fid.protocol=tf``, ``metrics.is.classifier=imagenet``); the ``torchvision`` / ``clean`` FID protocols
(:mod:`attngan.metrics.fid`) and the CUB classifier (:mod:`attngan.metrics.inception_cub`) bring their own, and
``describe_metrics(...)["protocols"]`` records what each used (``metrics.json``'s ``protocols``). The CLIP metrics
(:mod:`attngan.metrics.clip`) work the same way with ``metrics.clip.model_path`` and share one CLIP model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor
from torchmetrics import Metric

from attngan.errors import ConfigError, WeightsNotFoundError
from attngan.metrics.attention_localisation import AttentionLocalisation
from attngan.metrics.clip import CLIPRPrecision, CLIPScore
from attngan.metrics.fid import FrechetInceptionDistance
from attngan.metrics.inception import InceptionFeatures, InceptionScore
from attngan.metrics.options import (
    ATTENTION,
    CLIP,
    DAMSM,
    INCEPTION,
    REAL_IMAGES,
    SHAPES_DATA,
    SHAPES_GROUND_TRUTH,
    MetricInputs,
    MetricOptions,
    MetricSkippedWarning,
    Result,
)
from attngan.metrics.r_precision import RPrecision
from attngan.metrics.shapes_oracle import ORACLE_RESULT_KEYS, ShapesOracle
from attngan.metrics.shared import SharedNetworks

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "MetricEntry",
    "build_available",
    "build_metrics",
    "check_metric_names",
    "compute_metrics",
    "describe_metrics",
    "higher_is_better",
    "result_entry",
    "update_metrics",
]


# ------------------------------------------------------------------------------------------ entries
@dataclass(frozen=True)
class MetricEntry:
    """A metric of the registry (see the module docstring).

    Attributes:
        name: the name users ask for.
        description: one line for humans.
        needs: what it needs (the constants of :mod:`attngan.metrics.options`).
        results: every value its ``compute()`` writes, under its final name.
        build: ``(options, shared) -> Metric``.
        feeds: the fields of :class:`MetricInputs` its ``update()`` takes, in order; a batch without the
            first ``required`` of them is not counted.
        required: how many of ``feeds`` a batch must have (default: all).
    """

    name: str
    description: str
    needs: frozenset[str]
    results: tuple[Result, ...]
    build: Callable[[MetricOptions, SharedNetworks], Metric] = field(repr=False)
    feeds: tuple[str, ...] = ()
    required: int | None = None

    @property
    def result_names(self) -> tuple[str, ...]:
        return tuple(result.name for result in self.results)

    def update(self, metric: Metric, inputs: MetricInputs) -> None:
        """Feed ``metric`` the fields of ``inputs`` it takes, when this batch has the required ones."""
        if self.name == "fid":  # generated and real images may come in different batches
            if inputs.images is not None:
                metric.update(inputs.images, real=False)
            if inputs.real_images is not None:
                metric.update(inputs.real_images, real=True)
            return
        values = [getattr(inputs, name) for name in self.feeds]
        if all(value is not None for value in values[: self.required]):
            metric.update(*values)


def _build_fid(options: MetricOptions, shared: SharedNetworks) -> Metric:
    from attngan.metrics.reference_stats import load_reference

    reference = load_reference(options.fid_reference) if options.fid_reference not in (None, "") else None
    return FrechetInceptionDistance(shared.fid_features(), reference=reference)


def _pair(name: str) -> tuple[Result, Result]:
    """A score and its spread over folds / splits."""
    return Result(name, True), Result(f"{name}_std", False, headline=False)


_ENTRIES = (
    MetricEntry(
        "r_precision",
        "top-1 retrieval of the own caption among num_candidates by DAMSM cosine, mean/std over folds",
        frozenset({DAMSM}),
        _pair("r_precision"),
        lambda o, s: RPrecision(
            num_candidates=o.num_candidates,
            num_folds=o.num_folds,
            seed=o.seed,
            protocol=o.r_precision_protocol,
        ),
        ("image_features", "sentence_features", "class_ids", "indices"),
        required=2,
    ),
    MetricEntry(
        "clip_r_precision",
        "top-1 retrieval of the own caption among num_candidates by CLIP cosine, mean/std over folds",
        frozenset({CLIP}),
        _pair("clip_r_precision"),
        lambda o, s: CLIPRPrecision(
            s.clip(), num_candidates=o.num_candidates, num_folds=o.num_folds, seed=o.seed
        ),
        ("images", "texts", "class_ids", "indices"),
        required=2,
    ),
    MetricEntry(
        "clip_score",
        "torchmetrics' CLIP score, max(100 * mean cosine, 0) of CLIP image and caption embeddings",
        frozenset({CLIP}),
        (Result("clip_score", True), Result("clip_cosine", True, headline=False)),
        lambda o, s: CLIPScore(s.clip()),
        ("images", "texts"),
    ),
    MetricEntry(
        "is",
        "Inception score over is_splits splits (ImageNet Inception)",
        frozenset({INCEPTION}),
        _pair("inception_score"),
        lambda o, s: InceptionScore(s.is_features(), splits=o.is_splits, seed=o.seed),
        ("images",),
    ),
    MetricEntry(
        "fid",
        "Frechet distance of Inception pool features, generated vs real test images",
        frozenset({INCEPTION, REAL_IMAGES}),
        (Result("fid", False),),
        _build_fid,
    ),
    MetricEntry(
        "shapes_oracle",
        "colour/position/shape of every object the shapes caption names, checked on the pixels",
        frozenset({SHAPES_DATA}),
        tuple(Result(key, True, headline=key != "shapes_num_objects") for key in ORACLE_RESULT_KEYS),
        lambda o, s: ShapesOracle(**dict(o.oracle_kwargs or {})),
        ("images", "captions"),
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
        lambda o, s: AttentionLocalisation(),
        ("attention", "captions", "object_masks", "objects"),
        required=3,
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
def check_metric_names(names: Sequence[str]) -> None:
    """Raises :class:`ConfigError` for a name that is not in :data:`METRIC_NAMES`."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; choose from {list(METRIC_NAMES)}")


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
    check_metric_names(names)
    options = options or MetricOptions()
    shared = SharedNetworks(options)
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


def describe_metrics(metrics: Mapping[str, Metric]) -> dict[str, Any]:
    """What the metrics were measured with: IS/FID ``inception_weights`` and ``inception_resize``, and per
    metric under ``protocols`` (``metrics.json``) the protocol / classifier, weights + sha256, resize, counts, IS
    ``splits`` and the FID ``reference`` file (``None``: this run's real images); CLIP ``clip_model``,
    ``clip_architecture``."""
    info: dict[str, Any] = {}
    protocols: dict[str, dict[str, Any]] = {}
    for metric in metrics.values():
        if isinstance(metric, CLIPScore | CLIPRPrecision) and "clip_model" not in info:
            info.update(metric.clip.describe())
        if not isinstance(metric, FrechetInceptionDistance | InceptionScore):
            continue
        network = metric.inception
        described = network.describe()  # type: ignore[operator]
        info.setdefault("inception_weights", described["weights"])
        info.setdefault("inception_resize", described["resize"])
        if isinstance(metric, FrechetInceptionDistance):
            reference = metric.reference
            injected = isinstance(network, InceptionFeatures) and network.injected
            protocols["fid"] = {
                "protocol": "injected network" if injected else "tf",
                **described,
                "num_images": metric.num_generated,
                "reference": reference.path if reference is not None else None,
                "num_reference_images": reference.num_images
                if reference is not None
                else int(metric.real_features_num_samples),
            }
        else:
            logits = metric.features
            counted = (
                sum(int(x.shape[0]) for x in logits) if isinstance(logits, list) else int(logits.shape[0])
            )
            protocols["is"] = {
                "classifier": "imagenet",
                **described,
                "num_images": counted,
                "splits": int(metric.splits),
            }
    if protocols:
        info["protocols"] = protocols
    return info
