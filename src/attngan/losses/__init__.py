"""Losses: pure functions over tensors (docs/ARCHITECTURE.md)."""

from attngan.losses.adversarial import discriminator_loss, generator_loss, mismatched
from attngan.losses.damsm import damsm_loss, sentence_level_scores, word_level_scores
from attngan.losses.kl import kl_loss

__all__ = [
    "damsm_loss",
    "discriminator_loss",
    "generator_loss",
    "kl_loss",
    "mismatched",
    "sentence_level_scores",
    "word_level_scores",
]
