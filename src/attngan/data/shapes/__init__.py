"""The built-in *shapes* dataset: coloured geometric objects with templated captions and exact ground truth.

Every image is a deterministic function of ``(seed, index)``. Each has six captions with varied wording,
the ground truth of every object (colour, shape, size, position, box, a label mask) and a class id naming
what its captions describe (every object's colour, shape and position), so that retrieval negatives differ
in content. The modules, one job each:

- :mod:`~attngan.data.shapes.spec`: the world's vocabulary (palette, shapes, sizes, positions) and class ids.
- :mod:`~attngan.data.shapes.captions`: the caption templates and the parser that reads captions back.
- :mod:`~attngan.data.shapes.ground_truth`: :class:`ShapesObject`, :class:`ShapesImage`, :func:`load_ground_truth`.
- :mod:`~attngan.data.shapes.render`: drawing one image (:func:`render_shapes_image`).
- :mod:`~attngan.data.shapes.generate`: writing a dataset atomically, and the cache (:func:`ensure_shapes`).
"""

from attngan.data.shapes import spec
from attngan.data.shapes.captions import CAPTIONS_PER_IMAGE, CaptionObject, parse_shapes_caption
from attngan.data.shapes.generate import (
    DEFAULT_TEST_FRACTION,
    MARKER,
    default_shapes_root,
    ensure_shapes,
    generate_shapes,
    is_held_out,
    parse_holdout,
    read_marker,
    shapes_split,
)
from attngan.data.shapes.ground_truth import ShapesImage, ShapesObject, load_ground_truth
from attngan.data.shapes.render import render_shapes_image
from attngan.data.shapes.spec import NUM_CLASSES, shapes_class_content, shapes_class_id

__all__ = [
    "CAPTIONS_PER_IMAGE",
    "DEFAULT_TEST_FRACTION",
    "MARKER",
    "NUM_CLASSES",
    "CaptionObject",
    "ShapesImage",
    "ShapesObject",
    "default_shapes_root",
    "ensure_shapes",
    "generate_shapes",
    "is_held_out",
    "load_ground_truth",
    "parse_holdout",
    "parse_shapes_caption",
    "read_marker",
    "render_shapes_image",
    "shapes_class_content",
    "shapes_class_id",
    "shapes_split",
    "spec",
]
