"""KL term of conditioning augmentation (docs/ARCHITECTURE.md "Losses"; release ``miscc/losses.py: KL_loss``)."""

from __future__ import annotations

import torch


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, σ²) || N(0, I))`` averaged over every element: ``-½ · mean(1 + log σ² - μ² - σ²)``.

    Args:
        mu: ``(B, condition_dim)``.
        logvar: log σ², same shape as ``mu``.

    Returns:
        Scalar.
    """
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
