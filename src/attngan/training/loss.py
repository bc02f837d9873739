"""AttnGAN's losses per phase (paper eq. 3-5), as the training step uses them: no Lightning here.

:class:`AttnGANLoss` holds the networks the terms need and the training options; the step calls
:meth:`~AttnGANLoss.discriminator` once per scale and :meth:`~AttnGANLoss.generator` once, then steps the
optimizers. A test or drill that wants a term to go wrong wraps these methods
(:class:`attngan.lit.faults.FaultInjector`); the step itself has no hook.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from attngan.losses.adversarial import discriminator_loss, generator_loss
from attngan.losses.damsm import damsm_loss
from attngan.losses.kl import kl_loss
from attngan.training.options import TrainingOptions
from attngan.training.terms import lazy_penalty, penalty_due


class AttnGANLoss:
    """The loss terms of one training step.

    Args:
        discriminators: one discriminator per scale, smallest first.
        image_encoder: the frozen DAMSM image encoder.
        options: ``model.training`` (:class:`TrainingOptions`).
        gammas: the DAMSM smoothing factors (``gamma1``, ``gamma2``, ``gamma3``).
    """

    def __init__(
        self,
        discriminators: nn.ModuleList,
        image_encoder: nn.Module,
        options: TrainingOptions,
        gammas: dict[str, float],
    ) -> None:
        self.discriminators = discriminators
        self.image_encoder = image_encoder
        self.options = options
        self.gammas = gammas

    def discriminator(
        self,
        step: int,
        stage: int,
        real: torch.Tensor,
        fake: torch.Tensor,
        sentence: torch.Tensor,
        wrong_sentence: torch.Tensor,
    ) -> torch.Tensor:
        """L_{D_i} of discriminator ``stage`` at generator step ``step``, plus its gradient penalty when due.

        Args:
            real, fake: ``(B, 3, H_i, W_i)`` images of the stage (``fake`` detached).
            sentence, wrong_sentence: ``(B, D)`` ē of the matching and of the mismatched captions.
        """
        disc, options = self.discriminators[stage], self.options
        loss = discriminator_loss(disc, real, fake, sentence, wrong_sentence, options.adversarial_loss)[
            "loss"
        ]
        if penalty_due(options, stage, len(self.discriminators), step):
            loss = loss + lazy_penalty(options, disc, real, sentence)
        return loss

    def generator(
        self,
        step: int,
        output: Any,
        words: torch.Tensor,
        sentence: torch.Tensor,
        lengths: torch.Tensor,
        class_ids: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """The generator's terms before weighting: ``g_adversarial`` (summed over the scales), ``g_damsm``
        (words ``(B, D, T)``, sentence ``(B, D)``) and ``g_kl``; ``output``: the generator's output."""
        adversarial = sum(
            generator_loss(disc, fake, sentence, self.options.adversarial_loss)["loss"]
            for disc, fake in zip(self.discriminators, output.images, strict=True)
        )
        regions, image_global = self.image_encoder(output.images[-1])
        damsm = damsm_loss(words, lengths, regions, sentence, image_global, class_ids, **self.gammas)["loss"]
        return {"g_adversarial": adversarial, "g_damsm": damsm, "g_kl": kl_loss(output.mu, output.logvar)}


__all__ = ["AttnGANLoss"]
