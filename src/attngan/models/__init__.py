"""Networks: plain ``nn.Module``s with explicit constructor arguments, and :func:`generate`, the one way from
captions to pixels (docs/ARCHITECTURE.md)."""

from attngan.models.attention import GlobalAttention
from attngan.models.conditioning import ConditioningAugmentation
from attngan.models.discriminator import Discriminator
from attngan.models.generate import generate, sample_noise, seed_noise
from attngan.models.generator import Generator, GeneratorOutput
from attngan.models.image_encoder import CNNImageEncoder, InceptionImageEncoder
from attngan.models.init import init_weights
from attngan.models.text_encoder import TextEncoder

__all__ = [
    "CNNImageEncoder",
    "ConditioningAugmentation",
    "Discriminator",
    "Generator",
    "GeneratorOutput",
    "GlobalAttention",
    "InceptionImageEncoder",
    "TextEncoder",
    "generate",
    "init_weights",
    "sample_noise",
    "seed_noise",
]
