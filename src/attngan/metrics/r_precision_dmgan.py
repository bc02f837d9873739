"""DM-GAN's R-precision computation (``metrics.r_precision.protocol=dmgan``), for comparing with its tables.

DM-GAN's ``code/trainer.py`` ``sampling`` and ``code/datasets.py`` ``get_mis_caption`` in three steps:
:func:`sample_dmgan_mismatches` (99 captions of other classes, drawn with replacement), :func:`dmgan_hits`
(``argmax`` over the own caption and the mismatches, a tie is a hit) and :func:`dmgan_folds` (shuffle, then folds
``R[i*s:(i+1)*s-1]``). :func:`attngan.metrics.r_precision.r_precision` puts them together.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["dmgan_folds", "dmgan_hits", "sample_dmgan_mismatches"]


def sample_dmgan_mismatches(
    class_ids: Tensor, num_mismatched: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """DM-GAN's mismatch draw: per sample, ``num_mismatched`` samples uniformly *with* replacement among those
    of another class (an unknown class, ``-1``, is its own class: then every other sample is allowed).

    DM-GAN's ``get_mis_caption(cls_id)`` repeats ``idx = random.randint(...)`` until
    ``class_id[idx] != cls_id`` and keeps 99 such draws, repeats included. Here the draw is exact and vectorised:
    the samples are sorted by class, and a uniform position among the ``N - n_c`` samples outside the own class
    ``c`` skips the block of ``c``.

    Args:
        class_ids: ``(N,)`` long, ``-1`` = unknown.
        num_mismatched: draws per sample (99).
        generator: CPU generator of the draw.

    Returns:
        ``(indices (N, num_mismatched) long, valid (N, num_mismatched) bool)``; ``valid`` is False only for a
        sample whose class holds every sample (nothing to draw from).
    """
    if class_ids.dim() != 1:
        raise ValueError(f"class_ids must be (N,), got shape {tuple(class_ids.shape)}")
    class_ids = class_ids.cpu().long()
    n = class_ids.numel()
    unknown = class_ids < 0
    groups = class_ids.clone()
    groups[unknown] = (
        int(class_ids.max().clamp(min=0)) + 1 + torch.arange(int(unknown.sum()))
    )  # own class each
    order = torch.argsort(groups, stable=True)  # (N,) samples sorted by class
    _, inverse, counts = groups.unique(sorted=True, return_inverse=True, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts  # first sorted position of each class
    start, size = starts[inverse], counts[inverse]  # (N,) each sample's class block
    allowed = n - size  # (N,)
    uniform = torch.rand(n, num_mismatched, generator=generator, dtype=torch.float64)
    position = (uniform * allowed[:, None]).floor().long().clamp(max=(allowed - 1).clamp(min=0)[:, None])
    position = torch.where(position < start[:, None], position, position + size[:, None])
    valid = (allowed > 0)[:, None].expand(n, num_mismatched).clone()
    return order[position.clamp(max=n - 1)], valid


def dmgan_folds(hits: Tensor, num_folds: int, seed: int) -> Tensor:
    """DM-GAN's folds of the 0/1 hits: shuffle, then fold ``i`` = ``R[i*s:(i+1)*s-1]`` with ``s = N // num_folds``.

    Args:
        hits: ``(N,)`` bool or float, one per sample in evaluation order.
        num_folds: folds (10).
        seed: seed of the ``numpy.random.RandomState`` shuffle (DM-GAN shuffles with the global numpy state).

    Returns:
        ``(num_folds,)`` float64 fold means; each fold averages ``s - 1`` samples.
    """
    values = hits.detach().cpu().double().numpy().copy()
    np.random.RandomState(seed).shuffle(values)
    size = values.shape[0] // num_folds
    if size < 2:
        raise ValueError(
            f"the dmgan protocol needs at least 2 samples per fold, got {values.shape[0]} samples for "
            f"{num_folds} folds"
        )
    return torch.tensor([values[i * size : (i + 1) * size - 1].mean() for i in range(num_folds)])


def dmgan_hits(images: Tensor, sentences: Tensor, candidates: Tensor, valid: Tensor) -> Tensor:
    """``argmax([own, mismatches...]) == 0`` per sample, DM-GAN's cosine ``a·b / max(|a||b|, 1e-8)`` in float32.

    The own caption and the mismatches are scored by one product, as DM-GAN's ``torch.mm(cnn_code, rnn_code.T)``,
    so an identical sentence vector ties exactly, and ``argmax`` returns the first maximum: a tie is a hit.
    """
    images, sentences = images.float(), sentences.float()
    image_norm = images.norm(dim=1)  # (N,)
    sentence_norm = sentences.norm(dim=1)  # (N,)
    n = images.shape[0]
    hits = torch.empty(n, dtype=torch.bool, device=images.device)
    rows_per_chunk = max(1, (1 << 24) // max(1, (candidates.shape[1] + 1) * images.shape[1]))  # ~64 MiB
    for start in range(0, n, rows_per_chunk):
        stop = min(start + rows_per_chunk, n)
        own = torch.arange(start, stop, device=images.device)[:, None]  # (R, 1)
        chosen = torch.cat([own, candidates[start:stop]], dim=1)  # (R, 1 + K): own caption first
        dots = torch.einsum("rd,rkd->rk", images[start:stop], sentences[chosen])  # (R, 1 + K)
        norms = (image_norm[start:stop, None] * sentence_norm[chosen]).clamp(min=1e-8)
        scores = dots / norms
        scores[:, 1:] = scores[:, 1:].masked_fill(~valid[start:stop], float("-inf"))
        hits[start:stop] = scores.argmax(dim=1) == 0
    return hits
