"""Captions a user hands to a pipeline: checked, and encoded as the generator reads them.

Torch-free, so that the PyTorch pipeline (:class:`attngan.pipeline.AttnGANPipeline`) and the ONNX runtime
(:class:`attngan.onnx.OnnxPipeline`, which never imports torch) share one owner of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attngan.errors import AttnGANError, UnknownCaptionError
from attngan.text.vocabulary import Vocabulary


@dataclass(frozen=True)
class EncodedCaptions:
    """B captions as word ids: ``ids (B, max_words)`` int64 padded with 0, ``lengths (B,)`` int64, the
    ``tokens`` kept, the ``unknown`` words left out, and ``words_cut``: per caption, the known words beyond
    ``max_words`` (the first ``max_words`` are kept, as :func:`attngan.text.caption_to_tensor` without an rng)."""

    ids: np.ndarray
    lengths: np.ndarray
    tokens: list[list[str]]
    unknown: list[list[str]]
    words_cut: list[int]


def generation_request(
    captions: str | Sequence[str], num_images_per_caption: int, batch_size: int
) -> tuple[list[str], int]:
    """``(captions as a list, n)`` of a pipeline call.

    Raises:
        AttnGANError: no caption, or ``num_images_per_caption`` / ``batch_size`` below 1.
    """
    captions = [captions] if isinstance(captions, str) else [str(c) for c in captions]
    if not captions:
        raise AttnGANError("no captions given: pass a caption or a list of captions")
    n = int(num_images_per_caption)
    if n < 1 or int(batch_size) < 1:
        raise AttnGANError(f"num_images_per_caption and batch_size must be >= 1, got {n} and {batch_size}")
    return captions, n


def encode_captions(vocab: Vocabulary, captions: Sequence[str], max_words: int) -> EncodedCaptions:
    """``captions`` as the generator reads them (unknown words are left out and reported in the result).

    Raises:
        UnknownCaptionError: a caption has no known word (the message names it and some known words).
    """
    words = vocab.to_list()
    ids = np.zeros((len(captions), max_words), dtype=np.int64)
    lengths, tokens, unknowns, cut = [], [], [], []
    for row, caption in enumerate(captions):
        known, unknown = vocab.encode(caption)
        if not known:
            raise UnknownCaptionError(
                f"caption {caption!r} has no word this model knows"
                + (f" (unknown: {unknown})" if unknown else " (it is empty)")
                + f". Rephrase it with words of the training captions: the vocabulary has {len(vocab) - 1} "
                f"words, e.g. {words[1:9]}"
            )
        cut.append(max(0, len(known) - max_words))
        known = known[:max_words]
        ids[row, : len(known)] = known
        lengths.append(len(known))
        tokens.append([words[i] for i in known])
        unknowns.append(unknown)
    return EncodedCaptions(ids, np.asarray(lengths, dtype=np.int64), tokens, unknowns, cut)
