"""The vocabulary of the built-in *shapes* world, shared by the data generator and the oracle.

Images are ``IMAGE_SIZE`` x ``IMAGE_SIZE`` RGB on a plain dark background, with one or two objects.
Colours are chosen far apart in hue so that an analytic check of a generated image can tell them apart.

A *class* is what a caption pins down: every object's colour, shape and position (sizes are left out because
captions do not always name them). Same-class pairs are never used as negatives (DAMSM loss, R-precision),
so position must be part of the class: otherwise "a red circle on the left" and "a red circle on the right"
would be exempt from each other and nothing would teach the encoders (and through them the generator) where
objects go.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

IMAGE_SIZE = 64
BACKGROUND_RGB: tuple[int, int, int] = (24, 24, 24)

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 90, 230),
    "yellow": (235, 215, 40),
    "orange": (245, 140, 20),
    "purple": (150, 60, 210),
    "white": (240, 240, 240),
    "cyan": (40, 210, 220),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
SIZES: dict[str, float] = {"small": 0.11, "large": 0.19}  # half-extent as a fraction of the image side
POSITIONS: dict[str, tuple[float, float]] = {  # object centre (x, y) as fractions of the image side
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "center": (0.5, 0.5),
}
# Two objects always sit on opposite sides, so they never overlap.
POSITION_PAIRS: tuple[tuple[str, str], ...] = (("left", "right"), ("top", "bottom"))

# Words the captions use for each position (the oracle reads positions back from captions with these).
POSITION_WORDS: dict[str, tuple[str, ...]] = {
    "left": ("left",),
    "right": ("right",),
    "top": ("top",),
    "bottom": ("bottom",),
    "center": ("center", "middle"),
}

# ----------------------------------------------------------------------------------------- class ids
_ITEMS: tuple[tuple[str, str, str], ...] = tuple(itertools.product(COLOURS, SHAPES, POSITIONS))
_PAIR_ITEMS: tuple[tuple[str, str], ...] = tuple(itertools.product(COLOURS, SHAPES))
_CONTENTS: tuple[tuple[tuple[str, str, str], ...], ...] = tuple(
    [(item,) for item in _ITEMS]
    + [
        ((c1, s1, p1), (c2, s2, p2))
        for p1, p2 in POSITION_PAIRS
        for (c1, s1), (c2, s2) in itertools.product(_PAIR_ITEMS, repeat=2)
    ]
)
_CONTENT_INDEX = {content: i for i, content in enumerate(_CONTENTS)}
_POSITION_ORDER = {position: i for i, position in enumerate(POSITIONS)}
# 8 colours x 3 shapes x 5 positions = 120 single objects + 2 position pairs x 24 x 24 = 1,152 pairs
NUM_CLASSES = len(_CONTENTS)


def shapes_class_id(objects: Iterable[tuple[str, str, str]]) -> int:
    """The class id of an image showing the given ``(colour, shape, position)`` objects (order does not matter).

    Ids are stable: single objects first (``COLOURS`` x ``SHAPES`` x ``POSITIONS``), then pairs per
    ``POSITION_PAIRS`` entry.

    Raises:
        ValueError: an unknown colour, shape or position, or a layout the generator never draws (not one or
            two objects, or two objects not on opposite sides).
    """
    items = [tuple(item) for item in objects]
    for item in items:
        if len(item) != 3 or item[0] not in COLOURS or item[1] not in SHAPES or item[2] not in POSITIONS:
            raise ValueError(
                f"Unknown (colour, shape, position) object {item!r}; colours {list(COLOURS)}, "
                f"shapes {list(SHAPES)}, positions {list(POSITIONS)}."
            )
    content = tuple(sorted(items, key=lambda item: _POSITION_ORDER[item[2]]))
    if content not in _CONTENT_INDEX:
        raise ValueError(
            f"A shapes image shows one object, or two on opposite sides {list(POSITION_PAIRS)}; "
            f"not {list(items)}."
        )
    return _CONTENT_INDEX[content]


def shapes_class_content(class_id: int) -> tuple[tuple[str, str, str], ...]:
    """Inverse of :func:`shapes_class_id`: the ``(colour, shape, position)`` objects of a class."""
    return _CONTENTS[class_id]
