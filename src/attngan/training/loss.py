"""AttnGAN's losses per phase (paper eq. 3-5), as the training step uses them, and the discriminator-side training
options (:class:`~attngan.training.options.TrainingOptions`): mismatched pairs with hard negatives, the lazy gradient
penalty. No Lightning here.

:class:`AttnGANLoss` holds the networks the terms need and the training options; the step calls
:meth:`~AttnGANLoss.discriminator` once per scale and :meth:`~AttnGANLoss.generator` once, then steps the
optimizers. A test or drill that wants a term to go wrong wraps these methods
(:class:`attngan.lit.faults.FaultInjector`); the step itself has no hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from attngan.data.shapes.negatives import HardNegatives
from attngan.losses.adversarial import discriminator_loss, generator_loss, mismatched
from attngan.losses.damsm import damsm_loss
from attngan.losses.kl import kl_loss
from attngan.losses.penalties import gradient_penalty, lazy_penalty_due
from attngan.models.discriminator import Discriminator
from attngan.models.generator import GeneratorOutput
from attngan.training.options import TrainingOptions

# keys the hard negatives add to a training batch (host side, before the transfer to the device)
HARD_NEGATIVE_CAPTIONS = "hard_negative_captions"  # (B, T) word ids
HARD_NEGATIVE_LENGTHS = "hard_negative_lengths"  # list[int] of B: host integers, never moved to the device
HARD_NEGATIVE_ROWS = "hard_negative_rows"  # (B,) bool: rows whose mismatched pair is the hard negative


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
        """L_{D_i} of discriminator ``stage`` at generator step ``step``, plus its gradient penalty when due
        (on the largest scale only, or on every scale with ``gradient_penalty_stages=all``).

        Args:
            real, fake: ``(B, 3, H_i, W_i)`` images of the stage (``fake`` detached).
            sentence, wrong_sentence: ``(B, D)`` ē of the matching and of the mismatched captions.
        """
        disc, options = self.discriminators[stage], self.options
        loss = discriminator_loss(disc, real, fake, sentence, wrong_sentence, options.adversarial_loss)[
            "loss"
        ]
        every_stage = stage == len(self.discriminators) - 1 or options.gradient_penalty_stages == "all"
        if every_stage and lazy_penalty_due(options.gradient_penalty, step, options.gradient_penalty_every):
            loss = loss + lazy_penalty(options, disc, real, sentence)
        return loss

    def generator(
        self,
        step: int,
        output: GeneratorOutput,
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


def lazy_penalty(
    options: TrainingOptions, discriminator: Discriminator, real: torch.Tensor, sentence: torch.Tensor
) -> torch.Tensor:
    """The gradient penalty on real images times ``gradient_penalty_every`` (lazy regularisation), in fp32: a
    double backward through bf16 logits loses the small gradients it penalises."""
    with torch.autocast(real.device.type, enabled=False):
        penalty = gradient_penalty(
            options.gradient_penalty,
            discriminator,
            real.float(),
            sentence.float(),
            options.gradient_penalty_weight,
            options.gradient_penalty_power,
        )
    return penalty * options.gradient_penalty_every


def hard_negative_fields(
    make: HardNegatives,
    fraction: float,
    captions: torch.Tensor,
    lengths: torch.Tensor,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The batch's hard-negative captions and the ``fraction`` of its rows that use them (their lengths as host
    integers, like ``host_lengths``, so that encoding them never reads back from the device).

    Args:
        make: the run's :class:`HardNegatives`.
        fraction: ``model.training.hard_negative_fraction``.
        captions: ``(B, T)`` word ids; lengths ``(B,)``.
        rng: seeded per step by the caller, so that a resumed run draws the same negatives.
    """
    negatives, negative_lengths, changed = make(captions.cpu(), lengths.cpu(), rng)
    chosen = rng.random(len(changed)) < fraction
    rows = torch.tensor([bool(c) and attr is not None for c, attr in zip(chosen, changed, strict=True)])
    return {
        HARD_NEGATIVE_CAPTIONS: negatives,
        HARD_NEGATIVE_LENGTHS: negative_lengths.tolist(),
        HARD_NEGATIVE_ROWS: rows,
    }


def wrong_sentences(
    batch: dict[str, Any],
    sentence: torch.Tensor,
    encode: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """ē of the mismatched pairs ``(B, D)``: the batch rolled by one (the release), with the rows chosen for hard
    negatives replaced by their hard negative's ē (``encode``: the frozen text encoder, ``(captions, lengths)``)."""
    rolled = mismatched(sentence)
    if HARD_NEGATIVE_ROWS not in batch:
        return rolled
    rows = batch[HARD_NEGATIVE_ROWS].to(sentence.device)
    _, hard = encode(batch[HARD_NEGATIVE_CAPTIONS], torch.tensor(batch[HARD_NEGATIVE_LENGTHS]))
    return torch.where(rows[:, None], hard.to(rolled.dtype), rolled)


__all__ = ["AttnGANLoss", "hard_negative_fields", "lazy_penalty", "wrong_sentences"]
