"""Turning a caption's word ids into the fixed-length tensor a batch carries, and its padding mask."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def caption_to_tensor(
    ids: Sequence[int], max_words: int, rng: np.random.Generator | None = None
) -> tuple[torch.Tensor, int]:
    """Pad or shorten a caption to ``max_words`` ids.

    A caption longer than ``max_words`` keeps, with an ``rng`` (training), a random subset of ``max_words``
    words in their original order, as the release does (sorted random indices); without one (evaluation)
    it keeps the first ``max_words`` words, so evaluation is deterministic.

    Returns:
        ``(caption, length)``: LongTensor ``(max_words,)`` padded with 0, and the number of real words.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}.")
    words = np.asarray(ids, dtype=np.int64)
    if len(words) > max_words:  # evaluation: the first words; training: a random subset, in order
        words = words[:max_words] if rng is None else words[np.sort(rng.permutation(len(words))[:max_words])]
    caption = torch.zeros(max_words, dtype=torch.long)
    caption[: len(words)] = torch.from_numpy(words)
    return caption, len(words)


def padding_mask(lengths: torch.Tensor, num_words: int) -> torch.Tensor:
    """``(B,)`` lengths -> ``(B, T)`` bool mask, True at padded word positions (``t >= length``)."""
    positions = torch.arange(num_words, device=lengths.device)
    return positions.unsqueeze(0) >= lengths.unsqueeze(1)
