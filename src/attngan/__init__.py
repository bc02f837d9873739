"""AttnGAN: fine-grained text-to-image generation with attentional GANs (Xu et al., CVPR 2018)."""

from attngan import config as _config  # noqa: F401  (registers the OmegaConf resolvers)
from attngan.version import __version__

__all__ = ["AttnGANPipeline", "__version__"]


def __getattr__(name: str):  # lazy: `import attngan` stays light
    if name == "AttnGANPipeline":
        from attngan.pipeline import AttnGANPipeline

        return AttnGANPipeline
    raise AttributeError(f"module 'attngan' has no attribute {name!r}")
