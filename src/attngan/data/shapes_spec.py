"""The vocabulary of the built-in *shapes* world, shared by the generator of the data and the oracle.

Images are ``IMAGE_SIZE`` x ``IMAGE_SIZE`` RGB on a plain dark background, with one or two objects.
Colours are chosen far apart in hue so that an analytic check of a generated image can tell them apart.
"""

from __future__ import annotations

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
MAX_OBJECTS = 2
