"""Captions of the shapes world, both ways: the templates that write them and the parser that reads them.

The generator writes ``CAPTIONS_PER_IMAGE`` captions per image from the templates below (varied wording and
word order; the size word is left out now and then). :func:`parse_shapes_caption` reads the objects a
caption names back (colour, shape, size, position and the word positions of the colour and shape words);
the shapes oracle and attention localisation judge images with it, so generator and judge share one grammar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from attngan.data.shapes.ground_truth import ShapesObject
from attngan.data.shapes.spec import COLOURS, POSITION_WORDS, SHAPES, SIZES

CAPTIONS_PER_IMAGE = 6

# ----------------------------------------------------------------------------------------- writing
_POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "left": ("on the left", "at the left"),
    "right": ("on the right", "at the right"),
    "top": ("at the top", "near the top"),
    "bottom": ("at the bottom", "near the bottom"),
    "center": ("in the center", "in the middle"),
}
# {n}: noun phrase ("a small red circle"), {p}: position phrase; {c}, {s}: colour and shape words.
_ONE_OBJECT = (
    "{n} {p}",
    "there is {n} {p}",
    "the picture shows {n} {p}",
    "{p} there is {n}",
    "{n} is {p}",
    "an image of {n} {p}",
    "{n} {p} on a dark background",
    "a single {c} {s} {p}",
)
_TWO_OBJECTS = (
    "{n1} {p1} and {n2} {p2}",
    "there is {n1} {p1} and {n2} {p2}",
    "the picture shows {n1} {p1} and {n2} {p2}",
    "{p1} is {n1} and {p2} is {n2}",
    "two shapes {n1} {p1} and {n2} {p2}",
    "{n1} is {p1} and {n2} is {p2}",
    "an image with {n1} {p1} and {n2} {p2}",
)
_SIZE_MENTION_PROBABILITY = 0.7


def _noun_phrase(obj: ShapesObject, with_size: bool) -> str:
    words = [obj.size, obj.colour, obj.shape] if with_size else [obj.colour, obj.shape]
    article = "an" if words[0][0] in "aeiou" else "a"
    return f"{article} {' '.join(words)}"


def shapes_captions(objects: Sequence[ShapesObject], rng: np.random.Generator) -> list[str]:
    """``CAPTIONS_PER_IMAGE`` different captions of one image's objects, drawn with ``rng``.

    The generator calls this right after drawing the layout with the same ``rng``, so the order of the
    random draws here is part of the dataset: changing it changes every caption of every dataset.
    """
    templates = _ONE_OBJECT if len(objects) == 1 else _TWO_OBJECTS
    chosen = rng.permutation(len(templates))[:CAPTIONS_PER_IMAGE]
    captions = []
    for t in chosen:
        ordered = list(objects) if len(objects) == 1 or rng.random() < 0.5 else list(objects)[::-1]
        fields: dict[str, str] = {}
        for i, obj in enumerate(ordered, start=1):
            suffix = "" if len(objects) == 1 else str(i)
            phrases = _POSITION_PHRASES[obj.position]
            fields["n" + suffix] = _noun_phrase(obj, bool(rng.random() < _SIZE_MENTION_PROBABILITY))
            fields["p" + suffix] = phrases[int(rng.integers(len(phrases)))]
            fields["c"], fields["s"] = obj.colour, obj.shape
        captions.append(templates[t].format(**fields))
    return captions


# ----------------------------------------------------------------------------------------- reading
COLOUR_OF_WORD: dict[str, str] = {name: name for name in COLOURS}
SHAPE_OF_WORD: dict[str, str] = {name: name for name in SHAPES}
SIZE_OF_WORD: dict[str, str] = {name: name for name in SIZES} | {
    "big": "large",
    "little": "small",
    "tiny": "small",
}
POSITION_OF_WORD: dict[str, str] = {word: p for p, words in POSITION_WORDS.items() for word in words} | {
    "centre": "center",
    "upper": "top",
    "lower": "bottom",
}
# Words and punctuation that end a clause: attributes never cross them.
_CLAUSE_BREAKS = frozenset({",", ";", ".", ":", "and", "while", "whereas", "but", "with", "plus"})
_TOKEN_RE = re.compile(r"\w+|[,;.:]")


@dataclass(frozen=True)
class CaptionObject:
    """One object named by a caption; ``None`` where the caption does not say.

    ``colour_token`` / ``shape_token`` index the caption's *words* (``attngan.text.tokenize`` order,
    punctuation not counted), i.e. the attention positions of those words.
    """

    colour: str | None = None
    shape: str | None = None
    size: str | None = None
    position: str | None = None
    colour_token: int | None = None
    shape_token: int | None = None


Clause = list[tuple[int, str]]  # (word position, word) of the words of one clause


def _clauses(caption: str | Sequence[str]) -> list[Clause]:
    """Split a caption at clause breaks; words keep their position among all words (punctuation skipped)."""
    if isinstance(caption, str):
        tokens = _TOKEN_RE.findall(caption.lower())
    else:
        tokens = [str(word).lower() for word in caption]
    clauses: list[Clause] = [[]]
    word_index = 0
    for token in tokens:
        if token in _CLAUSE_BREAKS:
            clauses.append([])
        if token[0].isalnum() or token[0] == "_":
            if token not in _CLAUSE_BREAKS:
                clauses[-1].append((word_index, token))
            word_index += 1
    return clauses


def _clause_objects(clause: Clause, anchors: list[int], position: str | None) -> list[CaptionObject]:
    """The objects of a clause: one per anchor (an index into ``clause``), with the attributes around it.

    ``position``, if given, goes to the first object (it came from a preceding clause without an object).
    """
    found: list[dict[str, Any]] = [{} for _ in anchors]
    if position is not None:
        found[0]["position"] = position
    for k, (index, word) in enumerate(clause):
        after = [a for a, pos in enumerate(anchors) if pos >= k]
        before = [a for a, pos in enumerate(anchors) if pos <= k]
        if word in COLOUR_OF_WORD or word in SIZE_OF_WORD:  # adjectives: the next object word, else the last
            target = after[0] if after else before[-1]
            if word in COLOUR_OF_WORD:
                found[target]["colour"] = (COLOUR_OF_WORD[word], index)
            else:
                found[target].setdefault("size", SIZE_OF_WORD[word])
        elif word in POSITION_OF_WORD:  # the previous object word, else the next
            target = before[-1] if before else after[0]
            found[target]["position"] = POSITION_OF_WORD[word]
    objects = []
    for pos, attrs in zip(anchors, found):
        index, word = clause[pos]
        colour = attrs.get("colour")
        objects.append(
            CaptionObject(
                colour=colour[0] if colour else None,
                shape=SHAPE_OF_WORD.get(word),
                size=attrs.get("size"),
                position=attrs.get("position"),
                colour_token=colour[1] if colour else None,
                shape_token=index if word in SHAPE_OF_WORD else None,
            )
        )
    return objects


def parse_shapes_caption(caption: str | Sequence[str]) -> list[CaptionObject]:
    """Read the objects a shapes caption names.

    Each shape word makes an object (a colour word with no shape word in its clause makes one too). Within a
    clause, colour and size words go to the first object word at or after them (adjectives precede nouns),
    else to the last one before; position words go to the nearest object word before them, else to the
    first after. A clause with a position but no object gives it to the previous object if that has none
    ("a red circle, on the left"), else to the next one ("on the left, a red circle"). So "a small red circle
    on the left and a blue square on the right", "on the left is a red circle" and "a circle that is red, in
    the middle" all parse as expected.

    Args:
        caption: the caption text, or its words (e.g. ``tokenize(text)`` or decoded ids).

    Returns:
        The objects in caption order.
    """
    objects: list[CaptionObject] = []
    pending_position: str | None = None  # from a clause without an object: "on the left, a red circle"
    for clause in _clauses(caption):
        anchors = [k for k, (_, w) in enumerate(clause) if w in SHAPE_OF_WORD]
        if not anchors:
            anchors = [k for k, (_, w) in enumerate(clause) if w in COLOUR_OF_WORD]
        if anchors:
            objects += _clause_objects(clause, anchors, pending_position)
            pending_position = None
            continue
        position = next((POSITION_OF_WORD[w] for _, w in clause if w in POSITION_OF_WORD), None)
        if position and objects and objects[-1].position is None:  # "a red circle, on the left"
            objects[-1] = replace(objects[-1], position=position)
        elif position:
            pending_position = position
    return objects
