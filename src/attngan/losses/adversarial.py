"""GAN losses per image scale (DESIGN §4; release ``miscc/losses.py``), on logits with BCE-with-logits.

The release applies a sigmoid in the discriminator and ``nn.BCELoss``; logits with
``binary_cross_entropy_with_logits`` is the same function, computed stably.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attngan.models.discriminator import Discriminator


def mismatched(sentence: torch.Tensor) -> torch.Tensor:
    """Sentence vectors shifted by one in the batch: row k gets caption k + 1 (the last gets caption 0).

    The release pairs image k with caption k + 1 for k < B - 1 and drops the last image; rolling keeps
    all B pairs, including (B - 1, 0).

    Shapes: ``(B, D) -> (B, D)``.
    """
    return torch.roll(sentence, shifts=-1, dims=0)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(
    discriminator: Discriminator,
    real: torch.Tensor,
    fake: torch.Tensor,
    sentence: torch.Tensor,
    wrong_sentence: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Loss of one discriminator.

    ``(BCE(Du(x), 1) + BCE(Dc(x, ē), 1)) / 2 + (BCE(Du(x̂), 0) + BCE(Dc(x̂, ē), 0) + BCE(Dc(x, ē_wrong), 0)) / 3``.
    Real and fake images go through the discriminator separately (separate BatchNorm statistics, as the
    release); the fakes are detached here.

    Args:
        discriminator: the discriminator of this scale.
        real: real images x, ``(B, 3, s, s)``.
        fake: generated images x̂, ``(B, 3, s, s)``.
        sentence: ē of the real captions, ``(B, D)``.
        wrong_sentence: ē paired with the real images as negatives, ``(B, D)``; None uses
            :func:`mismatched` ``(sentence)``.

    Returns:
        ``{"loss", "real_unconditional", "real_conditional", "fake_unconditional", "fake_conditional",
        "wrong_conditional"}``.
    """
    if wrong_sentence is None:
        wrong_sentence = mismatched(sentence)
    real_features = discriminator(real)  # (B, 8ndf, 4, 4)
    fake_features = discriminator(fake.detach())
    terms = {
        "real_unconditional": _bce(discriminator.unconditional_logits(real_features), 1.0),
        "real_conditional": _bce(discriminator.conditional_logits(real_features, sentence), 1.0),
        "fake_unconditional": _bce(discriminator.unconditional_logits(fake_features), 0.0),
        "fake_conditional": _bce(discriminator.conditional_logits(fake_features, sentence), 0.0),
        "wrong_conditional": _bce(discriminator.conditional_logits(real_features, wrong_sentence), 0.0),
    }
    loss = (terms["real_unconditional"] + terms["real_conditional"]) / 2 + (
        terms["fake_unconditional"] + terms["fake_conditional"] + terms["wrong_conditional"]
    ) / 3
    return {"loss": loss, **terms}


def generator_loss(
    discriminator: Discriminator, fake: torch.Tensor, sentence: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Adversarial loss of the generator at one scale: ``BCE(Du(x̂), 1) + BCE(Dc(x̂, ē), 1)``.

    The DAMSM term (last scale only, weight λ) and the KL term are added by the caller.

    Args:
        discriminator: the discriminator of this scale.
        fake: generated images x̂, ``(B, 3, s, s)`` (not detached: gradients reach the generator).
        sentence: ē, ``(B, D)``.

    Returns:
        ``{"loss", "unconditional", "conditional"}``.
    """
    features = discriminator(fake)
    unconditional = _bce(discriminator.unconditional_logits(features), 1.0)
    conditional = _bce(discriminator.conditional_logits(features, sentence), 1.0)
    return {"loss": unconditional + conditional, "unconditional": unconditional, "conditional": conditional}
