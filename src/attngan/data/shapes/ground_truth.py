"""The exact ground truth of every shapes image: its objects, class id, split and label mask.

A generated dataset keeps it in ``root/ground_truth.json`` (``{key: {"class_id", "split", "objects": [...]}}``)
and ``root/masks/<key>.png`` (8-bit label mask: 0 background, ``k`` for object ``k``, 1-based).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from attngan.errors import DataError

GROUND_TRUTH_FILE = "ground_truth.json"


@dataclass(frozen=True)
class ShapesObject:
    """Ground truth of one object.

    Attributes:
        index: 1-based; the object's value in the label mask.
        colour, shape, size, position: names from :mod:`attngan.data.shapes.spec`.
        rgb: the exact fill colour.
        center: ``(x, y)`` pixel centre.
        half_extent: half the side of the object's square extent, in pixels.
        bbox: ``(x0, y0, x1, y1)`` tight box of the mask pixels, ``x1``/``y1`` exclusive.
        area: number of mask pixels.
    """

    index: int
    colour: str
    shape: str
    size: str
    position: str
    rgb: tuple[int, int, int]
    center: tuple[int, int]
    half_extent: int
    bbox: tuple[int, int, int, int]
    area: int


@dataclass(frozen=True)
class ShapesImage:
    """Ground truth of one image: its objects, class id, split and label mask file."""

    key: str
    split: str
    class_id: int
    objects: tuple[ShapesObject, ...]
    mask_path: Path

    def mask(self) -> np.ndarray:
        """The label mask, ``uint8 (H, W)``: 0 background, ``k`` for object ``k``."""
        with Image.open(self.mask_path) as image:
            return np.asarray(image, dtype=np.uint8).copy()


def load_ground_truth(root: str | Path) -> dict[str, ShapesImage]:
    """Read the ground truth of a generated shapes dataset, keyed by image key.

    Raises:
        DataError: ``root`` is not a shapes dataset.
    """
    root = Path(root)
    path = root / GROUND_TRUTH_FILE
    if not path.is_file():
        raise DataError(
            f"{path} does not exist: {root} is not a generated shapes dataset. Generate one with "
            f"`attngan-data shapes root={root}` or use data=shapes (generated on first use)."
        )
    raw = json.loads(path.read_text())
    truth = {}
    for key, entry in raw.items():
        # JSON has no tuples: rgb, center and bbox come back as lists
        objects = tuple(
            ShapesObject(**{k: tuple(v) if isinstance(v, list) else v for k, v in obj.items()})
            for obj in entry["objects"]
        )
        truth[key] = ShapesImage(
            key, entry["split"], entry["class_id"], objects, root / "masks" / f"{key}.png"
        )
    return truth
