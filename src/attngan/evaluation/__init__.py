"""Evaluating a generator without Lightning: metrics over generated batches, reports, sweeps, the paper's numbers.

The one caption -> pixels step lives in :mod:`attngan.models.generate` (re-exported here).
"""

from attngan.models.generate import generate, sample_noise, seed_noise

__all__ = ["generate", "sample_noise", "seed_noise"]
