"""Evaluation captions: the test split's captions in batches, read without loading any image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

from attngan.text.encoding import caption_to_tensor

if TYPE_CHECKING:
    from attngan.data.datamodule import CaptionDataModule
    from attngan.data.dataset import CaptionImageDataset

__all__ = ["CaptionBatch", "caption_batches", "captions_per_image"]


class CaptionBatch(dict):
    """Captions of evaluation samples (no images): ``captions (B, T)``, ``lengths (B,)``, ``class_ids (B,)``,
    ``indices (B,)`` (position in the evaluation run), ``keys``, ``texts``, ``tokens`` (words the model sees)."""


def caption_batches(
    dataset: CaptionImageDataset,
    positions: Sequence[int],
    batch_size: int,
    caption_index: int = 0,
    index_offset: int = 0,
    max_words: int | None = None,
    id_to_word: Sequence[str] | None = None,
) -> Iterator[CaptionBatch]:
    """Batches of evaluation captions read from a :class:`~attngan.data.dataset.CaptionImageDataset` without
    loading any image.

    Sample ``p`` of ``positions`` takes caption ``caption_index % (its number of captions)``, its first
    ``max_words`` words (deterministic, as evaluation batches of the data module), and gets the index
    ``index_offset + p`` (noise seed and R-precision order).

    Args:
        dataset: the test split (``datamodule.val_dataset``).
        positions: dataset positions to read, in order.
        batch_size: samples per batch.
        caption_index: which caption of each image.
        index_offset: added to the position to form ``indices``.
        max_words: T (default: the dataset's).
        id_to_word: vocabulary list (id order, padding first) to fill ``tokens``.
    """
    max_words = int(max_words or dataset.max_words)
    positions = list(positions)
    for start in range(0, len(positions), int(batch_size)):
        rows, lengths, class_ids, indices, keys, texts, tokens = [], [], [], [], [], [], []
        for position in positions[start : start + int(batch_size)]:
            record = dataset.records[position]
            captions = dataset.caption_ids[position]
            choice = caption_index % len(captions)
            if not captions[choice]:  # no known word in this caption: take the next one that has some
                choice = next((c for c in range(len(captions)) if captions[c]), choice)
            row, length = caption_to_tensor(captions[choice], max_words)
            rows.append(row)
            lengths.append(length)
            class_ids.append(int(record.class_id))
            indices.append(index_offset + int(position))
            keys.append(record.key)
            texts.append(record.captions[choice] if choice < len(record.captions) else "")
            if id_to_word is not None:
                tokens.append([id_to_word[int(t)] for t in row[:length]])
        yield CaptionBatch(
            captions=torch.stack(rows),
            lengths=torch.tensor(lengths, dtype=torch.long),
            class_ids=torch.tensor(class_ids, dtype=torch.long),
            indices=torch.tensor(indices, dtype=torch.long),
            keys=keys,
            texts=texts,
            tokens=tokens,
        )


def captions_per_image(datamodule: CaptionDataModule) -> int:
    """Captions per test image (the configured number, else the most any image has)."""
    assert datamodule.val_dataset is not None
    most = max(len(captions) for captions in datamodule.val_dataset.caption_ids)
    configured = datamodule.captions_per_image
    return max(1, min(configured, most) if configured else most)
