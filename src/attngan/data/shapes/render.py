"""Drawing one shapes image: a pure function of ``(seed, index)``.

One or two objects (colour, shape, size from :mod:`attngan.data.shapes.spec`) on the plain background; two
objects always sit on opposite sides (``POSITION_PAIRS``). Each image comes with its label mask, the exact
ground truth of its objects and its captions (:func:`attngan.data.shapes.captions.shapes_captions`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from attngan.data.shapes import spec
from attngan.data.shapes.captions import shapes_captions
from attngan.data.shapes.ground_truth import ShapesObject

_CENTRE_JITTER = 2  # pixels, each direction
_SIZE_JITTER = 1  # pixels on the half-extent


def _layout(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Draw the objects of one image: colour, shape, size, position, pixel centre and half-extent."""
    if rng.random() < 0.5:
        positions = [list(spec.POSITIONS)[int(rng.integers(len(spec.POSITIONS)))]]
    else:
        pair = spec.POSITION_PAIRS[int(rng.integers(len(spec.POSITION_PAIRS)))]
        positions = list(pair) if rng.random() < 0.5 else list(pair)[::-1]
    colours, shapes, sizes = list(spec.COLOURS), spec.SHAPES, list(spec.SIZES)
    layout = []
    for position in positions:
        fx, fy = spec.POSITIONS[position]
        size = sizes[int(rng.integers(len(sizes)))]
        jitter = rng.integers(-_CENTRE_JITTER, _CENTRE_JITTER + 1, size=2)
        layout.append(
            {
                "colour": colours[int(rng.integers(len(colours)))],
                "shape": shapes[int(rng.integers(len(shapes)))],
                "size": size,
                "position": position,
                "center": (
                    round(fx * spec.IMAGE_SIZE) + int(jitter[0]),
                    round(fy * spec.IMAGE_SIZE) + int(jitter[1]),
                ),
                "half_extent": round(spec.SIZES[size] * spec.IMAGE_SIZE)
                + int(rng.integers(-_SIZE_JITTER, _SIZE_JITTER + 1)),
            }
        )
    return layout


def _draw(
    draw: ImageDraw.ImageDraw, shape: str, center: tuple[int, int], r: int, fill: tuple[int, int, int] | int
) -> None:
    x, y = center
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "square":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "triangle":
        draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=fill)
    else:  # pragma: no cover - spec and drawing disagree
        raise ValueError(f"No drawing for shape {shape!r}; spec.SHAPES and _draw disagree.")


def render_shapes_image(
    seed: int, index: int
) -> tuple[Image.Image, Image.Image, list[ShapesObject], list[str]]:
    """Draw image ``index`` of the dataset with ``seed``: a pure function of the two numbers.

    Returns:
        ``(image, mask, objects, captions)``: the RGB image (``IMAGE_SIZE`` x ``IMAGE_SIZE``), the label
        mask (mode ``L``: 0 background, ``k`` for object ``k``), the ground truth of the objects and the
        captions.
    """
    rng = np.random.default_rng([seed, index])
    image = Image.new("RGB", (spec.IMAGE_SIZE, spec.IMAGE_SIZE), spec.BACKGROUND_RGB)
    mask = Image.new("L", (spec.IMAGE_SIZE, spec.IMAGE_SIZE), 0)
    layout = _layout(rng)
    image_draw, mask_draw = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    for k, obj in enumerate(layout, start=1):
        _draw(image_draw, obj["shape"], obj["center"], obj["half_extent"], spec.COLOURS[obj["colour"]])
        _draw(mask_draw, obj["shape"], obj["center"], obj["half_extent"], k)
    labels = np.asarray(mask)
    objects = []
    for k, obj in enumerate(layout, start=1):
        ys, xs = np.nonzero(labels == k)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        objects.append(ShapesObject(k, rgb=spec.COLOURS[obj["colour"]], bbox=bbox, area=len(xs), **obj))
    return image, mask, objects, shapes_captions(objects, rng)
