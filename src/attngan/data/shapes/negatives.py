"""Hard negatives for shapes captions: the true caption with exactly one attribute word changed.

The release's matching-aware discriminator pairs each real image with another caption of the batch, which on
shapes almost always differs in colour: the discriminator can reject it on colour alone and never has to look at
shape or position. Here the negative of a caption is the caption itself with one colour, shape, size or position
word replaced by another value of the same attribute ("a red *circle* on the left" -> "a red *square* on the
left"), chosen with the given weights among the attributes the caption names. The *count* attribute changes the
number of objects instead: a two-object caption loses its second object ("a red circle on the left and a blue
square on the right" -> "a red circle on the left"), a one-object caption gains one on the opposite side ("... and
a green triangle on the right"), so that a discriminator learns that "one object on the left" says the rest of the
image is empty. Such a caption is never true of the image: a named object has an attribute the image does not show,
or the caption names more or fewer objects than it shows (tested against the ground truth).

Works on word ids, so it runs on a collated batch (``captions (B, T)``, ``lengths (B,)``) with the vocabulary
of the run (``vocab[i]`` is the word of id ``i``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from attngan.data.shapes.captions import COLOUR_OF_WORD, POSITION_OF_WORD, SHAPE_OF_WORD, SIZE_OF_WORD
from attngan.data.shapes.spec import COLOURS, POSITIONS, SHAPES, SIZES

ATTRIBUTES: tuple[str, ...] = ("colour", "shape", "position", "size", "count")
# the object a one-object caption gains for a count negative goes to the other side of the image
_OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top", "center": "left"}
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
        self.and_id = index.get("and")
        # "a" "on"/"in" "the": the words of an added object's phrase, when the vocabulary has them
        self.phrase_ids = [index.get(w) for w in ("a", "on", "the")]

    def __call__(
        self, captions: torch.Tensor, lengths: torch.Tensor | Sequence[int], rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, list[str | None]]:
        """Negatives of a batch.

        Args:
            captions: ``(B, T)`` word ids (0 padding), on the CPU.
            lengths: ``(B,)`` caption lengths.
            rng: the random stream (the caller seeds it per step, so a resumed run draws the same negatives).

        Returns:
            ``(negatives (B, T), lengths (B,), changed)``: the captions with one word replaced (or, for ``count``,
            an object dropped or added), their lengths, and per row the attribute changed (``None`` where the
            caption names no attribute that can change: that row is unchanged, and the caller should fall back to
            another negative for it).
        """
        out = captions.clone()
        new_lengths = torch.as_tensor(lengths).clone().to(torch.long)
        ids = captions.tolist()
        changed: list[str | None] = []
        for row, length in enumerate(list(lengths.tolist() if torch.is_tensor(lengths) else lengths)):
            slots: dict[str, list[int]] = {}
            for position, word_id in enumerate(ids[row][: int(length)]):
                found = self.attribute_of_id.get(word_id)
                if found is not None and len(self._alternatives(*found)) > 0:
                    slots.setdefault(found[0], []).append(position)
            # only when count negatives can be chosen: it draws from rng and builds a caption
            count = (
                self._count_negative(ids[row][: int(length)], captions.shape[1], rng)
                if self.weights["count"] > 0
                else None
            )
            if count is not None:
                slots["count"] = []
            names = [a for a in ATTRIBUTES if a in slots]
            if not names:
                changed.append(None)
                continue
            weights = np.array([self.weights[a] for a in names])
            if weights.sum() <= 0:  # the caption names only attributes weighted 0: take one it names
                weights = np.ones(len(names))
            attribute = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            if attribute == "count":
                assert count is not None
                out[row] = 0
                out[row, : len(count)] = torch.tensor(count, dtype=out.dtype)
                new_lengths[row] = len(count)
                changed.append(attribute)
                continue
            position = slots[attribute][int(rng.integers(len(slots[attribute])))]
            _, value = self.attribute_of_id[ids[row][position]]
            alternatives = self._alternatives(attribute, value)
            out[row, position] = alternatives[int(rng.integers(len(alternatives)))]
            changed.append(attribute)
        return out, new_lengths, changed

    def _count_negative(self, words: list[int], width: int, rng: np.random.Generator) -> list[int] | None:
        """The caption's ids with its second object dropped (two objects) or an object added (one object).

        Returns ``None`` when that cannot be written: no ``and`` in the vocabulary, a caption whose objects are not
        joined by one ``and``, or an added object that would not fit into ``width`` words.
        """
        if self.and_id is None:
            return None
        named = [self.attribute_of_id.get(w) for w in words]
        shapes = [k for k, found in enumerate(named) if found is not None and found[0] == "shape"]
        if len(shapes) == 2 and words.count(self.and_id) == 1:
            return words[: words.index(self.and_id)]  # the first object's clause only
        positions = [found[1] for found in named if found is not None and found[0] == "position"]
        if len(shapes) != 1 or len(positions) != 1 or None in self.phrase_ids:
            return None
        article, on, the = self.phrase_ids
        colours = list(self.id_of_value["colour"].values())
        shape_ids = list(self.id_of_value["shape"].values())
        side = self.id_of_value["position"].get(_OPPOSITE[positions[0]])
        if not colours or not shape_ids or side is None:
            return None
        colour = colours[int(rng.integers(len(colours)))]
        shape = shape_ids[int(rng.integers(len(shape_ids)))]
        added = [self.and_id, article, colour, shape, on, the, side]  # "and a green triangle on the right"
        return words + added if len(words) + len(added) <= width else None

    def _alternatives(self, attribute: str, value: str) -> list[int]:
        """Ids of the canonical words of every other value of the attribute."""
        return [word_id for other, word_id in self.id_of_value[attribute].items() if other != value]


__all__ = ["ATTRIBUTES", "HardNegatives", "check_attribute_weights"]
