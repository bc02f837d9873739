"""The discriminator-side pieces of the training options (:class:`~attngan.training.options.TrainingOptions`):
the mismatched pairs with hard negatives, and the lazy gradient penalty. Plain functions over tensors, called by
:class:`attngan.lit.AttnGANModule` in its step; no Lightning here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from attngan.data.shapes.negatives import HardNegatives
from attngan.losses.adversarial import mismatched
from attngan.losses.penalties import gradient_penalty, lazy_penalty_due
from attngan.training.options import TrainingOptions

# keys the hard negatives add to a training batch (host side, before the transfer to the device)
HARD_NEGATIVE_CAPTIONS = "hard_negative_captions"  # (B, T) word ids
HARD_NEGATIVE_LENGTHS = "hard_negative_lengths"  # list[int] of B: host integers, never moved to the device
HARD_NEGATIVE_ROWS = "hard_negative_rows"  # (B,) bool: rows whose mismatched pair is the hard negative


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


def penalty_due(options: TrainingOptions, stage: int, num_stages: int, step: int) -> bool:
    """Whether discriminator ``stage`` gets the gradient penalty at generator step ``step``."""
    last = stage == num_stages - 1
    return (last or options.gradient_penalty_stages == "all") and lazy_penalty_due(
        options.gradient_penalty, step, options.gradient_penalty_every
    )


def lazy_penalty(
    options: TrainingOptions, discriminator: nn.Module, real: torch.Tensor, sentence: torch.Tensor
) -> torch.Tensor:
    """The gradient penalty on real images times ``gradient_penalty_every`` (lazy regularisation), in fp32: a
    double backward through bf16 logits loses the small gradients it penalises."""
    with torch.autocast(real.device.type, enabled=False):
        penalty = gradient_penalty(
            options.gradient_penalty,
            discriminator,  # type: ignore[arg-type]
            real.float(),
            sentence.float(),
            options.gradient_penalty_weight,
            options.gradient_penalty_power,
        )
    return penalty * options.gradient_penalty_every


__all__ = [
    "HARD_NEGATIVE_CAPTIONS",
    "HARD_NEGATIVE_LENGTHS",
    "HARD_NEGATIVE_ROWS",
    "hard_negative_fields",
    "lazy_penalty",
    "penalty_due",
    "wrong_sentences",
]
