"""Hard negatives for shapes captions: the true caption with exactly one attribute word changed.

The release's matching-aware discriminator pairs each real image with another caption of the batch, which on
shapes almost always differs in colour: the discriminator can reject it on colour alone and never has to look at
shape or position. Here the negative of a caption is the caption itself with one colour, shape, size or position
word replaced by another value of the same attribute ("a red *circle* on the left" -> "a red *square* on the
left"), chosen with the given weights among the attributes the caption names. Such a caption is never true of
the image: the object it names now has an attribute the image does not show (tested against the ground truth).

Works on word ids, so it runs on a collated batch (``captions (B, T)``, ``lengths (B,)``) with the vocabulary
of the run (``vocab[i]`` is the word of id ``i``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from attngan.data.shapes.captions import COLOUR_OF_WORD, POSITION_OF_WORD, SHAPE_OF_WORD, SIZE_OF_WORD
from attngan.data.shapes.spec import COLOURS, POSITIONS, SHAPES, SIZES

ATTRIBUTES: tuple[str, ...] = ("colour", "shape", "position", "size")
_WORDS_OF: dict[str, dict[str, str]] = {
    "colour": COLOUR_OF_WORD,
    "shape": SHAPE_OF_WORD,
    "position": POSITION_OF_WORD,
    "size": SIZE_OF_WORD,
}
_VALUES_OF: dict[str, tuple[str, ...]] = {
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "position": tuple(POSITIONS),
    "size": tuple(SIZES),
}


def check_attribute_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """``{"shape": 0.4, ...}`` -> the weight of every attribute (missing ones 0); refuses unknown names and an
    all-zero or negative choice."""
    unknown = sorted(set(weights) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(
            f"model.training.hard_negative_weights has unknown attributes {unknown}; use {list(ATTRIBUTES)}"
        )
    out = {name: float(weights.get(name, 0.0)) for name in ATTRIBUTES}
    if any(w < 0 for w in out.values()) or sum(out.values()) <= 0:
        raise ValueError(
            f"model.training.hard_negative_weights must be >= 0 with a positive sum, got {dict(weights)}"
        )
    return out


class HardNegatives:
    """Makes one-attribute-changed negatives of caption id tensors.

    Args:
        vocab: the run's words in id order.
        weights: relative frequency of each attribute (``colour``, ``shape``, ``position``, ``size``); a caption
            that names none of the chosen attributes gets one it names (proportionally to the others' weights).
    """

    def __init__(self, vocab: Sequence[str], weights: Mapping[str, float]) -> None:
        self.weights = check_attribute_weights(weights)
        index = {word: i for i, word in enumerate(vocab)}
        # word id -> (attribute, value) for every attribute word of the vocabulary
        self.attribute_of_id: dict[int, tuple[str, str]] = {
            index[word]: (attribute, value)
            for attribute, words in _WORDS_OF.items()
            for word, value in words.items()
            if word in index
        }
        # attribute -> value -> the id of its canonical word ("center" for center), if in the vocabulary
        self.id_of_value: dict[str, dict[str, int]] = {
            attribute: {value: index[value] for value in values if value in index}
            for attribute, values in _VALUES_OF.items()
        }

    def __call__(
        self, captions: torch.Tensor, lengths: torch.Tensor | Sequence[int], rng: np.random.Generator
    ) -> tuple[torch.Tensor, list[str | None]]:
        """Negatives of a batch.

        Args:
            captions: ``(B, T)`` word ids (0 padding), on the CPU.
            lengths: ``(B,)`` caption lengths.
            rng: the random stream (the caller seeds it per step, so a resumed run draws the same negatives).

        Returns:
            ``(negatives (B, T), changed)``: the captions with one word replaced, and per row the attribute
            changed (``None`` where the caption names no attribute that can change: that row is unchanged, and
            the caller should fall back to another negative for it).
        """
        out = captions.clone()
        ids = captions.tolist()
        changed: list[str | None] = []
        for row, length in enumerate(list(lengths.tolist() if torch.is_tensor(lengths) else lengths)):
            slots: dict[str, list[int]] = {}
            for position, word_id in enumerate(ids[row][: int(length)]):
                found = self.attribute_of_id.get(word_id)
                if found is not None and len(self._alternatives(*found)) > 0:
                    slots.setdefault(found[0], []).append(position)
            names = [a for a in ATTRIBUTES if a in slots]
            if not names:
                changed.append(None)
                continue
            weights = np.array([self.weights[a] for a in names])
            if weights.sum() <= 0:  # the caption names only attributes weighted 0: take one it names
                weights = np.ones(len(names))
            attribute = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            position = slots[attribute][int(rng.integers(len(slots[attribute])))]
            _, value = self.attribute_of_id[ids[row][position]]
            alternatives = self._alternatives(attribute, value)
            out[row, position] = alternatives[int(rng.integers(len(alternatives)))]
            changed.append(attribute)
        return out, changed

    def _alternatives(self, attribute: str, value: str) -> list[int]:
        """Ids of the canonical words of every other value of the attribute."""
        return [word_id for other, word_id in self.id_of_value[attribute].items() if other != value]


__all__ = ["ATTRIBUTES", "HardNegatives", "check_attribute_weights"]
