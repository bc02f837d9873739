"""Evaluation metrics: R-precision (DAMSM), CLIP score and CLIP-R-precision, Inception score / FID (local
weights only), the shapes oracle, attention localisation, and the registry that names them
(:mod:`attngan.metrics.registry`). Helpers live in their modules (``attngan.metrics.r_precision``, ...)."""

from attngan.metrics.attention_localisation import AttentionLocalisation
from attngan.metrics.clip import CLIPRPrecision, CLIPScore
from attngan.metrics.fid import FrechetInceptionDistance
from attngan.metrics.inception import InceptionScore
from attngan.metrics.options import MetricInputs, MetricOptions, MetricSkippedWarning
from attngan.metrics.r_precision import RPrecision
from attngan.metrics.registry import (
    METRIC_NAMES,
    METRICS,
    build_metrics,
    compute_metrics,
    describe_metrics,
    higher_is_better,
    update_metrics,
)
from attngan.metrics.shapes_oracle import ShapesOracle

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "AttentionLocalisation",
    "CLIPRPrecision",
    "CLIPScore",
    "FrechetInceptionDistance",
    "InceptionScore",
    "MetricInputs",
    "MetricOptions",
    "MetricSkippedWarning",
    "RPrecision",
    "ShapesOracle",
    "build_metrics",
    "compute_metrics",
    "describe_metrics",
    "higher_is_better",
    "update_metrics",
]
