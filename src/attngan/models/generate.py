"""Captions to pixels: the one generation step behind the pipeline, ``attngan-eval``, the evaluation callback
and the training sample grid, and the noise they feed it.

Randomness is an argument: z and CA's ε come from :func:`seed_noise` (one seed for a few images, the pipeline)
or :func:`sample_noise` (one seed per sample index, evaluation), so an image depends on its caption, the seed
and its index only, never on the batch, the device or the global random state.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from attngan.models.generator import GeneratorOutput
from attngan.text.encoding import padding_mask


def sample_noise(indices: Tensor, z_dim: int, condition_dim: int, seed: int) -> tuple[Tensor, Tensor]:
    """Noise of evaluation samples on the CPU: ``(z (B, z_dim), CA's ε (B, condition_dim))``.

    Row ``i`` is drawn from its own seed ``(seed, indices[i])``, so a sample's image depends only on the seed,
    its index and its caption, not on the batch size, the device or the number of processes.

    Args:
        indices: ``(B,)`` sample indices.
        z_dim: size of z; condition_dim: size of ε.
        seed: the evaluation seed.
    """
    rows = []
    for index in indices.tolist():
        state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        rows.append(torch.randn(z_dim + condition_dim, generator=generator))
    drawn = torch.stack(rows)  # (B, z_dim + condition_dim)
    return drawn[:, :z_dim], drawn[:, z_dim:]


def seed_noise(num: int, z_dim: int, condition_dim: int, seed: int) -> tuple[Tensor, Tensor]:
    """The noise of one seed on the CPU: ``(z (num, z_dim), CA's ε (num, condition_dim))``.

    One ``torch.Generator(seed)`` draws ``(num, z_dim + condition_dim)``; row ``k`` is the same for every
    ``num > k``, so image ``k`` of a caption does not depend on how many images are asked for.
    """
    generator = torch.Generator().manual_seed(int(seed))
    drawn = torch.randn(int(num), int(z_dim) + int(condition_dim), generator=generator)
    return drawn[:, :z_dim], drawn[:, z_dim:]


@torch.no_grad()
def generate(
    text_encoder: nn.Module,
    generator: nn.Module,
    captions: Tensor,
    lengths: Tensor,
    noise: Tensor,
    condition_noise: Tensor | None = None,
    image_encoder: nn.Module | None = None,
) -> tuple[GeneratorOutput, Tensor, Tensor | None]:
    """Captions through the text encoder and the generator (and the final images through the DAMSM image
    encoder when one is given). The networks' modes (eval/train) are left as they are.

    Args:
        text_encoder: the DAMSM text encoder.
        generator: a :class:`~attngan.models.Generator` (the EMA one for samples and metrics).
        captions: ``(B, T)`` word ids, 0 = padding.
        lengths: ``(B,)`` caption lengths.
        noise: z, ``(B, z_dim)``.
        condition_noise: CA's ε, ``(B, condition_dim)``; ``None`` lets CA draw it from the global random state.
        image_encoder: the DAMSM image encoder, for the global features R-precision needs; optional.

    Inputs are moved to the generator's device.

    Returns:
        ``(GeneratorOutput, sentence features (B, D), image global features (B, D) or None)``.
    """
    device = next(generator.parameters()).device
    captions, lengths, noise = captions.to(device), lengths.to(device), noise.to(device)
    if condition_noise is not None:
        condition_noise = condition_noise.to(device)
    words, sentence = text_encoder(captions, lengths)  # (B, D, T), (B, D)
    mask = padding_mask(lengths, captions.shape[1])  # (B, T), True at padding
    output = generator(noise, sentence, words, mask, condition_noise)
    image_global = image_encoder(output.images[-1])[1] if image_encoder is not None else None  # (B, D)
    return output, sentence, image_global


__all__ = ["generate", "sample_noise", "seed_noise"]
