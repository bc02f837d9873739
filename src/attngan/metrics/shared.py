"""The networks several metrics of one build share (built once, on first use), and what IS/FID were measured
with (``metrics.json``'s ``protocols``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn
from torchmetrics import Metric

from attngan.errors import ConfigError
from attngan.metrics.clip import CLIPFeatures
from attngan.metrics.fid import ProtocolFeatures, check_protocol
from attngan.metrics.inception import InceptionFeatures
from attngan.metrics.options import MetricOptions

__all__ = ["SharedNetworks", "describe_inception_protocols"]


class SharedNetworks:
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
