"""Hard negatives of shapes captions: one attribute changed, never a true caption of the image."""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple

import numpy as np
import pytest
import torch

from attngan.data.shapes import parse_shapes_caption, render_shapes_image
from attngan.data.shapes.negatives import ATTRIBUTES, HardNegatives
from attngan.text import tokenize


def _captions(count: int) -> list[tuple[list, str]]:
    """(ground-truth objects, caption) of the first images of a generated dataset, every caption of each."""
    out = []
    for index in range(count):
        _, _, objects, captions = render_shapes_image(0, index)
        out += [(objects, caption) for caption in captions]
    return out


def _encode(captions: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    tokens = [tokenize(c) for c in captions]
    vocab = [
        "<pad>",
        *sorted({w for t in tokens for w in t} | {"circle", "square", "triangle", "small", "large"}),
    ]
    index = {w: i for i, w in enumerate(vocab)}
    width = 18  # the shapes experiments' data.max_words
    ids = torch.zeros(len(tokens), width, dtype=torch.long)
    for row, words in enumerate(tokens):
        ids[row, : len(words)] = torch.tensor([index[w] for w in words])
    return ids, torch.tensor([len(t) for t in tokens]), vocab


def _objects(words: list[str]) -> list[tuple]:
    return [astuple(o)[:4] for o in parse_shapes_caption(words)]  # colour, shape, size, position


def _describes_image(objects: list[tuple], truth: list) -> bool:
    """Whether parsed ``(colour, shape, size, position)`` objects are true of the image: one named object per
    drawn object (matched by position, which every caption names), no named attribute wrong."""
    actual = {o.position: (o.colour, o.shape, o.size) for o in truth}
    if sorted(o[3] for o in objects) != sorted(actual):
        return False
    return not any(
        named is not None and named != real
        for colour, shape, size, position in objects
        for named, real in zip((colour, shape, size), actual[position], strict=True)
    )


@pytest.mark.parametrize(
    "weights", [{"shape": 1.0}, {"colour": 1.0}, {"position": 1.0}, {"size": 1.0}, {"count": 1.0}, None]
)
def test_negative_differs_in_exactly_the_chosen_attribute_and_is_false(weights) -> None:
    pairs = _captions(60)
    ids, lengths, vocab = _encode([caption for _, caption in pairs])
    weights = weights or {"colour": 0.3, "shape": 0.4, "position": 0.3, "size": 0.0}
    negatives, new_lengths, changed = HardNegatives(vocab, weights)(ids, lengths, np.random.default_rng(0))
    assert negatives.shape == ids.shape
    counts = Counter(changed)
    for row, ((truth, _), attribute) in enumerate(zip(pairs, changed, strict=True)):
        length, new_length = int(lengths[row]), int(new_lengths[row])
        assert not negatives[row, new_length:].any()  # padded after its own length
        before = _objects([vocab[i] for i in ids[row, :length]])
        after = _objects([vocab[i] for i in negatives[row, :new_length]])
        assert _describes_image(before, truth)  # the parser reads the true caption right
        assert not _describes_image(after, truth)  # never a true caption of the image
        if attribute == "count":  # one object fewer (the second dropped) or one more (on the other side)
            assert len(after) == len(before) + (1 if len(before) == 1 else -1)
            assert after[: min(len(before), len(after))] == before[: min(len(before), len(after))]
            continue
        assert new_length == length and int((negatives[row] != ids[row]).sum()) == 1  # one word replaced
        assert len(before) == len(after)
        diffs = [
            name
            for b, a in zip(before, after, strict=True)
            for name, x, y in zip(("colour", "shape", "size", "position"), b, a, strict=True)
            if x != y
        ]
        assert diffs == [attribute], (before, after)
        # never true of the image: some named object now has an attribute that no object of the image has
        # at its position (objects are matched by position, which every caption names)
    chosen = {name for name, w in weights.items() if w > 0}
    if chosen == {"size"}:  # captions name the size 70 % of the time; the others fall back to a named one
        assert counts["size"] > 0.5 * len(pairs)
    elif chosen == {"count"}:  # every caption can drop or gain an object
        assert counts["count"] == len(pairs)
    else:
        assert set(counts) == chosen
    if len(chosen) == 3:  # the proportions follow the weights
        assert counts["shape"] > counts["colour"] and counts["shape"] > counts["position"]


def test_same_rng_gives_same_negatives_and_unknown_attributes_are_refused() -> None:
    pairs = _captions(5)
    ids, lengths, vocab = _encode([caption for _, caption in pairs])
    make = HardNegatives(vocab, {"shape": 1.0})
    first, _, _ = make(ids, lengths, np.random.default_rng(3))
    second, _, _ = make(ids, lengths, np.random.default_rng(3))
    assert torch.equal(first, second)
    with pytest.raises(ValueError, match="unknown attributes"):
        HardNegatives(vocab, {"texture": 1.0})
    assert set(ATTRIBUTES) == {"colour", "shape", "size", "position", "count"}


def test_caption_without_attribute_words_is_left_alone() -> None:
    vocab = ["<pad>", "a", "picture", "red", "circle"]
    ids = torch.tensor([[1, 2, 0], [1, 3, 4]])
    negatives, _, changed = HardNegatives(vocab, {"colour": 1.0})(
        ids, torch.tensor([2, 3]), np.random.default_rng(0)
    )
    assert changed[0] is None and torch.equal(negatives[0], ids[0])
    # only one colour in the vocabulary: nothing to change it to, so the caption's shape changes instead... but
    # no other shape either: unchanged
    assert changed[1] is None and torch.equal(negatives[1], ids[1])
