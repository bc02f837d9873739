"""Evaluating a generator without Lightning: generation (the one caption -> pixels step) and its noise."""

from attngan.evaluation.generate import generate, sample_noise, seed_noise

__all__ = ["generate", "sample_noise", "seed_noise"]
