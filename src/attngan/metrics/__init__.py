"""Evaluation metrics: R-precision, Inception score / FID (local weights only), the shapes oracle."""

from attngan.metrics.inception import (
    INCEPTION_CONFIG_KEY,
    INCEPTION_WEIGHTS_FILENAME,
    FrechetInceptionDistance,
    InceptionFeatures,
    InceptionScore,
    find_inception_weights,
    images_to_uint8,
)
from attngan.metrics.r_precision import RPrecision, r_precision, sample_mismatched_candidates
from attngan.metrics.registry import (
    METRIC_NAMES,
    MetricSkippedWarning,
    build_metrics,
    compute_metrics,
    update_metrics,
)
from attngan.metrics.shapes_oracle import (
    AttentionLocalisation,
    CaptionObject,
    ImageCheck,
    ObjectCheck,
    ShapesOracle,
    attention_localisation,
    attention_word_shares,
    check_shapes_images,
    colour_labels,
    parse_shapes_caption,
)

__all__ = [
    "INCEPTION_CONFIG_KEY",
    "INCEPTION_WEIGHTS_FILENAME",
    "METRIC_NAMES",
    "AttentionLocalisation",
    "CaptionObject",
    "FrechetInceptionDistance",
    "ImageCheck",
    "InceptionFeatures",
    "InceptionScore",
    "MetricSkippedWarning",
    "ObjectCheck",
    "RPrecision",
    "ShapesOracle",
    "attention_localisation",
    "attention_word_shares",
    "build_metrics",
    "check_shapes_images",
    "colour_labels",
    "compute_metrics",
    "find_inception_weights",
    "images_to_uint8",
    "parse_shapes_caption",
    "r_precision",
    "sample_mismatched_candidates",
    "update_metrics",
]
