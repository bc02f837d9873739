"""The networks several metrics of one build share, built once on first use."""

from __future__ import annotations

from attngan.errors import ConfigError
from attngan.metrics.clip import CLIPFeatures
from attngan.metrics.fid import ProtocolFeatures, check_protocol
from attngan.metrics.inception import FrozenFeatureNetwork, InceptionFeatures
from attngan.metrics.options import MetricOptions

__all__ = ["SharedNetworks"]


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

    def fid_features(self) -> FrozenFeatureNetwork:
        """The FID network of ``fid_protocol``; ``tf`` (and an injected network) shares :meth:`inception`."""
        options = self.options
        check_protocol(options.fid_protocol)
        if options.feature_extractor is not None or (
            options.fid_protocol == "tf" and options.fid_weights in (None, "")
        ):
            return self.inception()
        return ProtocolFeatures(options.fid_protocol, options.fid_weights or options.inception_weights)

    def is_features(self) -> FrozenFeatureNetwork:
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
