"""GAN losses per image scale (release ``miscc/losses.py``), on logits.

``loss_type="bce"`` (the release, default): the release applies a sigmoid in the discriminator and
``nn.BCELoss``; logits with ``binary_cross_entropy_with_logits`` is the same function, computed stably.
``loss_type="hinge"`` (SAGAN/BigGAN, DF-GAN ``train.py``; a training option, docs/training.md): the same
terms and weights with ``relu(1 - l)`` for "real" targets and ``relu(1 + l)`` for "fake" ones in D, and ``-l``
in G.
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


LOSS_TYPES = ("bce", "hinge")


def check_loss_type(loss_type: str) -> None:
    """Refuse an unknown ``model.training.adversarial_loss``."""
    if loss_type not in LOSS_TYPES:
        raise ValueError(
            f"model.training.adversarial_loss must be one of {list(LOSS_TYPES)}, got {loss_type!r}"
        )


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _d_term(logits: torch.Tensor, real: bool, loss_type: str) -> torch.Tensor:
    """One discriminator term: the logits should say "real" (``real=True``) or "fake / mismatched"."""
    if loss_type == "hinge":
        return F.relu(1.0 - logits).mean() if real else F.relu(1.0 + logits).mean()
    return _bce(logits, 1.0 if real else 0.0)


def _g_term(logits: torch.Tensor, loss_type: str) -> torch.Tensor:
    """One generator term: the discriminator should say "real"."""
    return -logits.mean() if loss_type == "hinge" else _bce(logits, 1.0)


def discriminator_loss(
    discriminator: Discriminator,
    real: torch.Tensor,
    fake: torch.Tensor,
    sentence: torch.Tensor,
    wrong_sentence: torch.Tensor | None = None,
    loss_type: str = "bce",
) -> dict[str, torch.Tensor]:
    """Loss of one discriminator.

    ``(BCE(Du(x), 1) + BCE(Dc(x, ē), 1)) / 2 + (BCE(Du(x̂), 0) + BCE(Dc(x̂, ē), 0) + BCE(Dc(x, ē_wrong), 0)) / 3``;
    with ``loss_type="hinge"`` every ``BCE(l, 1)`` is ``E[relu(1 - l)]`` and every ``BCE(l, 0)`` is
    ``E[relu(1 + l)]``.
    Real and fake images go through the discriminator separately (separate BatchNorm statistics, as the
    release); the fakes are detached here.

    Args:
        discriminator: the discriminator of this scale.
        real: real images x, ``(B, 3, s, s)``.
        fake: generated images x̂, ``(B, 3, s, s)``.
        sentence: ē of the real captions, ``(B, D)``.
        wrong_sentence: ē paired with the real images as negatives, ``(B, D)``; None uses
            :func:`mismatched` ``(sentence)``.
        loss_type: ``"bce"`` (the release) or ``"hinge"``.

    Returns:
        ``{"loss", "real_unconditional", "real_conditional", "fake_unconditional", "fake_conditional",
        "wrong_conditional"}``.
    """
    if wrong_sentence is None:
        wrong_sentence = mismatched(sentence)
    real_features = discriminator(real)  # (B, 8ndf, 4, 4)
    fake_features = discriminator(fake.detach())
    check_loss_type(loss_type)
    terms = {
        "real_unconditional": _d_term(discriminator.unconditional_logits(real_features), True, loss_type),
        "real_conditional": _d_term(
            discriminator.conditional_logits(real_features, sentence), True, loss_type
        ),
        "fake_unconditional": _d_term(discriminator.unconditional_logits(fake_features), False, loss_type),
        "fake_conditional": _d_term(
            discriminator.conditional_logits(fake_features, sentence), False, loss_type
        ),
        "wrong_conditional": _d_term(
            discriminator.conditional_logits(real_features, wrong_sentence), False, loss_type
        ),
    }
    loss = (terms["real_unconditional"] + terms["real_conditional"]) / 2 + (
        terms["fake_unconditional"] + terms["fake_conditional"] + terms["wrong_conditional"]
    ) / 3
    return {"loss": loss, **terms}


def generator_loss(
    discriminator: Discriminator, fake: torch.Tensor, sentence: torch.Tensor, loss_type: str = "bce"
) -> dict[str, torch.Tensor]:
    """Adversarial loss of the generator at one scale: ``BCE(Du(x̂), 1) + BCE(Dc(x̂, ē), 1)``, or with
    ``loss_type="hinge"`` ``-E[Du(x̂)] - E[Dc(x̂, ē)]``.

    The DAMSM term (last scale only, weight λ) and the KL term are added by the caller.

    Args:
        discriminator: the discriminator of this scale.
        fake: generated images x̂, ``(B, 3, s, s)`` (not detached: gradients reach the generator).
        sentence: ē, ``(B, D)``.
        loss_type: ``"bce"`` (the release) or ``"hinge"``.

    Returns:
        ``{"loss", "unconditional", "conditional"}``.
    """
    check_loss_type(loss_type)
    features = discriminator(fake)
    unconditional = _g_term(discriminator.unconditional_logits(features), loss_type)
    conditional = _g_term(discriminator.conditional_logits(features, sentence), loss_type)
    return {"loss": unconditional + conditional, "unconditional": unconditional, "conditional": conditional}
