"""Zero-centred gradient penalties on real images (training options; the release has none).

- **MA-GP** (DF-GAN, "matching-aware" gradient penalty): the gradient of the conditional logit ``Dc(x, ē)`` with
  respect to the real image *and* its own sentence vector, flattened and concatenated per sample;
  ``L = weight · E[‖g‖₂^power]`` (DF-GAN: weight 2, power 6).
- **R1** (Mescheder et al. 2018): ``L = weight / 2 · E[‖∇_x Du(x)‖₂²]`` on the unconditional logit.

Both are usually applied lazily (StyleGAN2): every ``k`` discriminator steps, multiplied by ``k``; the caller
does that (:func:`lazy_penalty_due`).
"""

from __future__ import annotations

import torch

from attngan.models.discriminator import Discriminator

PENALTY_TYPES = ("none", "ma_gp", "r1")


def matching_aware_gradient_penalty(
    discriminator: Discriminator,
    real: torch.Tensor,
    sentence: torch.Tensor,
    weight: float = 2.0,
    power: float = 6.0,
) -> torch.Tensor:
    """DF-GAN's MA-GP: ``weight · E[(‖∇_x Dc(x, ē)‖² + ‖∇_ē Dc(x, ē)‖²)^(power / 2)]``.

    Args:
        discriminator: the discriminator of one scale.
        real: real images, ``(B, 3, s, s)``.
        sentence: their own sentence vectors ē, ``(B, D)``.
        weight: k (DF-GAN: 2).
        power: p (DF-GAN: 6).

    Returns:
        Scalar; differentiable with respect to the discriminator's parameters (double backward).
    """
    real = real.detach().requires_grad_(True)
    sentence = sentence.detach().requires_grad_(True)
    logits = discriminator.conditional_logits(discriminator(real), sentence)  # (B,)
    grad_image, grad_sentence = torch.autograd.grad(logits.sum(), (real, sentence), create_graph=True)
    squared = grad_image.flatten(1).pow(2).sum(1) + grad_sentence.flatten(1).pow(2).sum(1)  # (B,)
    # sqrt(squared) ** power without the sqrt's infinite gradient at 0
    return weight * squared.pow(power / 2).mean()


def r1_penalty(discriminator: Discriminator, real: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """R1: ``weight / 2 · E[‖∇_x Du(x)‖₂²]`` on real images ``(B, 3, s, s)``; scalar."""
    real = real.detach().requires_grad_(True)
    logits = discriminator.unconditional_logits(discriminator(real))  # (B,)
    (grad_image,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return weight / 2 * grad_image.flatten(1).pow(2).sum(1).mean()


def gradient_penalty(
    penalty: str,
    discriminator: Discriminator,
    real: torch.Tensor,
    sentence: torch.Tensor,
    weight: float,
    power: float = 6.0,
) -> torch.Tensor:
    """The penalty named by ``model.training.gradient_penalty`` (``"ma_gp"`` or ``"r1"``)."""
    if penalty == "ma_gp":
        return matching_aware_gradient_penalty(discriminator, real, sentence, weight, power)
    if penalty == "r1":
        return r1_penalty(discriminator, real, weight)
    raise ValueError(
        f"model.training.gradient_penalty={penalty!r} has no penalty to compute: 'ma_gp' or 'r1'"
    )


def lazy_penalty_due(penalty: str, step: int, every: int) -> bool:
    """Whether the penalty runs at discriminator step ``step`` (0-based): every ``every`` steps, the first included."""
    return penalty != "none" and step % max(every, 1) == 0
