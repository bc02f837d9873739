"""Conditioning augmentation (CA): sentence vector -> sampled condition (docs/ARCHITECTURE.md "Models")."""

from __future__ import annotations

import torch
from torch import nn

from attngan.models.blocks import GLU


class ConditioningAugmentation(nn.Module):
    """Linear ``embedding_dim -> 4 * condition_dim`` -> GLU -> split into μ and log σ².

    The condition is sampled as ``c = μ + ε · exp(½ log σ²)``, ε ~ N(0, I), in training *and* in
    evaluation, as in the release (``CA_NET``).

    Args:
        embedding_dim: size of the DAMSM sentence vector ē.
        condition_dim: size of the condition c (and of μ, log σ²).
    """

    def __init__(self, embedding_dim: int = 256, condition_dim: int = 100) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.condition_dim = condition_dim
        self.fc = nn.Linear(embedding_dim, condition_dim * 4, bias=True)
        self.glu = GLU()

    def encode(self, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentence vector ``(B, embedding_dim)`` -> ``(mu, logvar)``, each ``(B, condition_dim)``."""
        if sentence.dim() != 2 or sentence.size(1) != self.embedding_dim:
            raise ValueError(f"sentence must be (B, {self.embedding_dim}), got {tuple(sentence.shape)}")
        x = self.glu(self.fc(sentence))  # (B, 2 * condition_dim)
        return x[:, : self.condition_dim], x[:, self.condition_dim :]

    def forward(
        self, sentence: torch.Tensor, condition_noise: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample a condition.

        Args:
            sentence: ē, ``(B, embedding_dim)``.
            condition_noise: ε, ``(B, condition_dim)``; ``None`` draws it from the global random state.
                Giving ε makes the condition a function of the sentence and ε alone (reproducible samples).

        Returns:
            ``(c, mu, logvar)``, each ``(B, condition_dim)``.
        """
        mu, logvar = self.encode(sentence)
        std = torch.exp(0.5 * logvar)
        if condition_noise is None:
            epsilon = torch.randn_like(std)
        else:
            if condition_noise.shape != mu.shape:
                raise ValueError(
                    f"condition_noise (CA's ε) must be {tuple(mu.shape)} = (batch, condition_dim), got "
                    f"{tuple(condition_noise.shape)}; pass one row of {self.condition_dim} values per caption"
                )
            epsilon = condition_noise.to(device=std.device, dtype=std.dtype)
        condition = mu + epsilon * std
        return condition, mu, logvar
