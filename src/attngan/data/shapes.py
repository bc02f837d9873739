"""The built-in *shapes* dataset: coloured geometric objects with templated captions and ground truth.

Every image is a deterministic function of ``(seed, index)``: one or two objects (colour, shape, size from
:mod:`attngan.data.shapes_spec`) on the plain background; two objects always sit on opposite sides
(``POSITION_PAIRS``). Each image has six captions with varied wording, the exact ground truth of every
object (colour, shape, size, position, box, a label mask), and a class id naming what its captions describe
(every object's colour, shape and position), so that retrieval negatives differ in content.

The dataset is written in the folder format (:mod:`attngan.data.folder`) plus ground truth::

    root/images/<key>.png         64 x 64 RGB
    root/captions/<key>.txt       6 captions, one per line
    root/masks/<key>.png          8-bit label mask: 0 background, k for object k (1-based)
    root/ground_truth.json        {key: {"class_id", "split", "objects": [...]}}
    root/train.txt  root/test.txt root/classes.txt
    root/shapes.json              the generation parameters (marker written last)

Generation writes into a temporary sibling directory and renames it into place, so an interrupted run
never leaves a half-written dataset. The same parameters give byte-identical files.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from attngan.data import shapes_spec as spec
from attngan.data.records import split_keys
from attngan.errors import DataError

log = logging.getLogger(__name__)

GENERATOR_VERSION = 3  # 3: class ids include positions
MARKER = "shapes.json"
CAPTIONS_PER_IMAGE = 6
DEFAULT_TEST_FRACTION = 0.2
_PNG_SETTINGS = {"format": "PNG", "compress_level": 6, "optimize": False}
_CENTRE_JITTER = 2  # pixels, each direction
_SIZE_JITTER = 1  # pixels on the half-extent

# ----------------------------------------------------------------------------------------- class ids
# A class is what a caption pins down: every object's colour, shape and position (sizes are left out because
# captions do not always name them). Same-class pairs are never used as negatives (DAMSM loss, R-precision),
# so position must be part of the class: otherwise "a red circle on the left" and "a red circle on the right"
# would be exempt from each other and nothing would teach the encoders (and through them the generator) where
# objects go.
_ITEMS: tuple[tuple[str, str, str], ...] = tuple(itertools.product(spec.COLOURS, spec.SHAPES, spec.POSITIONS))
_PAIR_ITEMS: tuple[tuple[str, str], ...] = tuple(itertools.product(spec.COLOURS, spec.SHAPES))
_CONTENTS: tuple[tuple[tuple[str, str, str], ...], ...] = tuple(
    [(item,) for item in _ITEMS]
    + [
        ((c1, s1, p1), (c2, s2, p2))
        for p1, p2 in spec.POSITION_PAIRS
        for (c1, s1), (c2, s2) in itertools.product(_PAIR_ITEMS, repeat=2)
    ]
)
_CONTENT_INDEX = {content: i for i, content in enumerate(_CONTENTS)}
_POSITION_ORDER = {position: i for i, position in enumerate(spec.POSITIONS)}
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
        if (
            len(item) != 3
            or item[0] not in spec.COLOURS
            or item[1] not in spec.SHAPES
            or item[2] not in spec.POSITIONS
        ):
            raise ValueError(
                f"Unknown (colour, shape, position) object {item!r}; colours {list(spec.COLOURS)}, "
                f"shapes {list(spec.SHAPES)}, positions {list(spec.POSITIONS)}."
            )
    content = tuple(sorted(items, key=lambda item: _POSITION_ORDER[item[2]]))
    if content not in _CONTENT_INDEX:
        raise ValueError(
            f"A shapes image shows one object, or two on opposite sides {list(spec.POSITION_PAIRS)}; "
            f"not {list(items)}."
        )
    return _CONTENT_INDEX[content]


def shapes_class_content(class_id: int) -> tuple[tuple[str, str, str], ...]:
    """Inverse of :func:`shapes_class_id`: the ``(colour, shape, position)`` objects of a class."""
    return _CONTENTS[class_id]


# ----------------------------------------------------------------------------------------- ground truth
@dataclass(frozen=True)
class ShapesObject:
    """Ground truth of one object.

    Attributes:
        index: 1-based; the object's value in the label mask.
        colour, shape, size, position: names from :mod:`attngan.data.shapes_spec`.
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
    path = root / "ground_truth.json"
    if not path.is_file():
        raise DataError(
            f"{path} does not exist: {root} is not a generated shapes dataset. Generate one with "
            f"`attngan-data shapes root={root}` or use data=shapes (generated on first use)."
        )
    raw = json.loads(path.read_text())
    truth = {}
    for key, entry in raw.items():
        objects = tuple(
            ShapesObject(
                **{
                    **obj,
                    "rgb": tuple(obj["rgb"]),
                    "center": tuple(obj["center"]),
                    "bbox": tuple(obj["bbox"]),
                }
            )
            for obj in entry["objects"]
        )
        truth[key] = ShapesImage(
            key, entry["split"], entry["class_id"], objects, root / "masks" / f"{key}.png"
        )
    return truth


# ----------------------------------------------------------------------------------------- captions
_POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "left": ("on the left", "at the left"),
    "right": ("on the right", "at the right"),
    "top": ("at the top", "near the top"),
    "bottom": ("at the bottom", "near the bottom"),
    "center": ("in the center", "in the middle"),
}
# {n}: noun phrase ("a small red circle"), {p}: position phrase, {P}: the same phrase leading a sentence.
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


def _captions(objects: Sequence[ShapesObject], rng: np.random.Generator) -> list[str]:
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


# ----------------------------------------------------------------------------------------- drawing
def _layout(rng: np.random.Generator) -> list[dict[str, Any]]:
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


def _draw(draw: ImageDraw.ImageDraw, shape: str, center: tuple[int, int], r: int, fill: Any) -> None:
    x, y = center
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "square":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "triangle":
        draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=fill)
    else:  # pragma: no cover - spec and drawing disagree
        raise ValueError(f"No drawing for shape {shape!r}.")


def render_shapes_image(
    seed: int, index: int
) -> tuple[Image.Image, Image.Image, list[ShapesObject], list[str]]:
    """Draw image ``index`` of the dataset with ``seed``: a pure function of the two numbers.

    Returns:
        ``(image, mask, objects, captions)``: the RGB image, the label mask (mode ``L``), the ground truth of
        the objects and the captions.
    """
    rng = np.random.default_rng([seed, index])
    image = Image.new("RGB", (spec.IMAGE_SIZE, spec.IMAGE_SIZE), spec.BACKGROUND_RGB)
    mask = Image.new("L", (spec.IMAGE_SIZE, spec.IMAGE_SIZE), 0)
    layout = _layout(rng)
    for k, obj in enumerate(layout, start=1):
        _draw(
            ImageDraw.Draw(image),
            obj["shape"],
            obj["center"],
            obj["half_extent"],
            spec.COLOURS[obj["colour"]],
        )
        _draw(ImageDraw.Draw(mask), obj["shape"], obj["center"], obj["half_extent"], k)
    labels = np.asarray(mask)
    objects = []
    for k, obj in enumerate(layout, start=1):
        ys, xs = np.nonzero(labels == k)
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        objects.append(ShapesObject(k, rgb=spec.COLOURS[obj["colour"]], bbox=bbox, area=len(xs), **obj))
    return image, mask, objects, _captions(objects, rng)


# ----------------------------------------------------------------------------------------- writing
def shapes_parameters(
    num_images: int, seed: int, test_fraction: float = DEFAULT_TEST_FRACTION
) -> dict[str, Any]:
    """The generation parameters recorded in the marker file; a different dict means a different dataset."""
    return {
        "generator": "attngan.data.shapes",
        "version": GENERATOR_VERSION,
        "num_images": int(num_images),
        "seed": int(seed),
        "test_fraction": float(test_fraction),
        "image_size": spec.IMAGE_SIZE,
        "captions_per_image": CAPTIONS_PER_IMAGE,
    }


def read_marker(root: str | Path) -> dict[str, Any] | None:
    """The generation parameters of a shapes dataset, or ``None`` when ``root`` has no readable marker."""
    try:
        return json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _write_dataset(directory: Path, params: dict[str, Any]) -> None:
    for sub in ("images", "captions", "masks"):
        (directory / sub).mkdir(parents=True)
    num_images, seed = params["num_images"], params["seed"]
    width = max(5, len(str(num_images - 1)))
    keys = [f"shape_{i:0{width}d}" for i in range(num_images)]
    train, test = split_keys(keys, params["test_fraction"], seed)
    split_of = dict.fromkeys(train, "train") | dict.fromkeys(test, "test")
    truth: dict[str, Any] = {}
    class_lines = []
    for i, key in enumerate(keys):
        image, mask, objects, captions = render_shapes_image(seed, i)
        image.save(directory / "images" / f"{key}.png", **_PNG_SETTINGS)
        mask.save(directory / "masks" / f"{key}.png", **_PNG_SETTINGS)
        (directory / "captions" / f"{key}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
        class_id = shapes_class_id((o.colour, o.shape, o.position) for o in objects)
        truth[key] = {"class_id": class_id, "split": split_of[key], "objects": [asdict(o) for o in objects]}
        class_lines.append(f"{key} {class_id}")
    (directory / "train.txt").write_text("\n".join(train) + "\n")
    (directory / "test.txt").write_text("\n".join(test) + "\n")
    (directory / "classes.txt").write_text("\n".join(class_lines) + "\n")
    (directory / "ground_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    (directory / MARKER).write_text(
        json.dumps(params, indent=2, sort_keys=True) + "\n"
    )  # last: marks completion


def generate_shapes(
    root: str | Path,
    num_images: int,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    overwrite: bool = False,
) -> Path:
    """Write a shapes dataset to ``root`` (atomically: a temporary sibling directory renamed into place).

    Args:
        root: target directory; must not exist, unless it already holds a shapes dataset with the same
            parameters (then nothing is done) or ``overwrite`` is set.
        num_images: images in total (train + test), at least 2.
        seed: the dataset's seed; the same seed gives byte-identical files.
        test_fraction: share of images in the test split.
        overwrite: replace an existing dataset with other parameters.

    Returns:
        ``root``.

    Raises:
        DataError: ``root`` exists and holds something else.
    """
    if num_images < 2:
        raise DataError(f"num_images must be at least 2 (one train and one test image), got {num_images}.")
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    root = Path(root).expanduser()
    params = shapes_parameters(num_images, seed, test_fraction)
    marker = read_marker(root)
    if marker == params:
        return root
    if root.exists() and any(root.iterdir()) and not (overwrite and marker is not None):
        what = f"a shapes dataset with other parameters ({marker})" if marker else "other files"
        hint = "; pass overwrite=true to replace it" if marker else ""
        raise DataError(f"{root} already holds {what}. Choose an empty or new directory{hint}.")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _write_dataset(tmp, params)
        if root.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.replace(root, old / "dataset")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, root)
        except OSError:
            # Another process finished first; keep its copy if it is the same dataset.
            if read_marker(root) != params:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def ensure_shapes(
    root: str | Path, num_images: int, seed: int, test_fraction: float = DEFAULT_TEST_FRACTION
) -> Path:
    """Generate the dataset into ``root`` unless it is already there with these parameters (the cache).

    A cached copy with other parameters (or an older generator) is regenerated.
    """
    root = Path(root).expanduser()
    params = shapes_parameters(num_images, seed, test_fraction)
    marker = read_marker(root)
    if marker == params:
        return root
    if marker is None and root.exists() and any(root.iterdir()):
        raise DataError(
            f"The shapes cache directory {root} holds files that are not a shapes dataset. Remove it or set "
            "data.cache_dir elsewhere."
        )
    log.info("Generating the shapes dataset (%d images, seed %d) into %s", num_images, seed, root)
    return generate_shapes(root, num_images, seed, test_fraction, overwrite=True)


def default_shapes_root(cache_dir: str | Path, num_images: int, seed: int) -> Path:
    """Where the shapes dataset with these parameters is cached under ``cache_dir``."""
    return Path(cache_dir).expanduser() / f"shapes-n{num_images}-seed{seed}"
