"""Evaluation metrics: R-precision (DAMSM), CLIP score and CLIP-R-precision, Inception score / FID (local
weights only), the shapes oracle, attention localisation, and the registry that names them
(:mod:`attngan.metrics.registry`)."""

from attngan.data.shapes import CaptionObject, parse_shapes_caption
from attngan.metrics.attention_localisation import (
    AttentionLocalisation,
    attention_localisation,
    attention_word_shares,
)
from attngan.metrics.clip import CLIPFeatures, CLIPModelNotFoundError, CLIPRPrecision, CLIPScore, load_clip
from attngan.metrics.fid import FrechetInceptionDistance
from attngan.metrics.inception import (
    INCEPTION_CONFIG_KEY,
    INCEPTION_WEIGHTS_FILENAME,
    InceptionFeatures,
    InceptionScore,
    images_to_uint8,
)
from attngan.metrics.options import MetricInputs, MetricOptions, MetricSkippedWarning, Result
from attngan.metrics.r_precision import (
    R_PRECISION_PROTOCOLS,
    RPrecision,
    r_precision,
    sample_mismatched_candidates,
)
from attngan.metrics.r_precision_dmgan import dmgan_folds, sample_dmgan_mismatches
from attngan.metrics.registry import (
    METRIC_NAMES,
    METRICS,
    MetricEntry,
    build_metrics,
    compute_metrics,
    describe_metrics,
    higher_is_better,
    update_metrics,
)
from attngan.metrics.shapes_oracle import ImageCheck, ObjectCheck, ShapesOracle, check_shapes_images
from attngan.metrics.shapes_pixels import colour_labels

__all__ = [
    "INCEPTION_CONFIG_KEY",
    "INCEPTION_WEIGHTS_FILENAME",
    "METRICS",
    "METRIC_NAMES",
    "R_PRECISION_PROTOCOLS",
    "AttentionLocalisation",
    "CLIPFeatures",
    "CLIPModelNotFoundError",
    "CLIPRPrecision",
    "CLIPScore",
    "CaptionObject",
    "FrechetInceptionDistance",
    "ImageCheck",
    "InceptionFeatures",
    "InceptionScore",
    "MetricEntry",
    "MetricInputs",
    "MetricOptions",
    "MetricSkippedWarning",
    "ObjectCheck",
    "RPrecision",
    "Result",
    "ShapesOracle",
    "attention_localisation",
    "attention_word_shares",
    "build_metrics",
    "check_shapes_images",
    "colour_labels",
    "compute_metrics",
    "describe_metrics",
    "dmgan_folds",
    "higher_is_better",
    "images_to_uint8",
    "load_clip",
    "parse_shapes_caption",
    "r_precision",
    "sample_dmgan_mismatches",
    "sample_mismatched_candidates",
    "update_metrics",
]
