"""Writing a shapes dataset to disk, atomically, and the cache that generates it on first use.

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

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from attngan.data.records import split_keys
from attngan.data.shapes import spec
from attngan.data.shapes.captions import CAPTIONS_PER_IMAGE
from attngan.data.shapes.ground_truth import GROUND_TRUTH_FILE
from attngan.data.shapes.render import render_shapes_image
from attngan.errors import DataError

log = logging.getLogger(__name__)

GENERATOR_VERSION = 3  # 3: class ids include positions
MARKER = "shapes.json"
DEFAULT_TEST_FRACTION = 0.2
_PNG_SETTINGS = {"format": "PNG", "compress_level": 6, "optimize": False}


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


def shapes_keys(num_images: int) -> list[str]:
    """The image keys of a dataset of ``num_images``: ``shape_00000`` ...; key ``i`` is image index ``i``."""
    width = max(5, len(str(num_images - 1)))
    return [f"shape_{i:0{width}d}" for i in range(num_images)]


def shapes_split(
    num_images: int, seed: int, test_fraction: float = DEFAULT_TEST_FRACTION
) -> tuple[list[str], list[str]]:
    """The ``(train, test)`` keys of the dataset with these parameters, without generating it."""
    return split_keys(shapes_keys(num_images), test_fraction, seed)


def _write_dataset(directory: Path, params: dict[str, Any]) -> None:
    for sub in ("images", "captions", "masks"):
        (directory / sub).mkdir(parents=True)
    num_images, seed = params["num_images"], params["seed"]
    keys = shapes_keys(num_images)
    train, test = shapes_split(num_images, seed, params["test_fraction"])
    split_of = dict.fromkeys(train, "train") | dict.fromkeys(test, "test")
    truth: dict[str, Any] = {}
    class_lines = []
    for i, key in enumerate(keys):
        image, mask, objects, captions = render_shapes_image(seed, i)
        image.save(directory / "images" / f"{key}.png", **_PNG_SETTINGS)
        mask.save(directory / "masks" / f"{key}.png", **_PNG_SETTINGS)
        (directory / "captions" / f"{key}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
        class_id = spec.shapes_class_id((o.colour, o.shape, o.position) for o in objects)
        truth[key] = {"class_id": class_id, "split": split_of[key], "objects": [asdict(o) for o in objects]}
        class_lines.append(f"{key} {class_id}")
    (directory / "train.txt").write_text("\n".join(train) + "\n")
    (directory / "test.txt").write_text("\n".join(test) + "\n")
    (directory / "classes.txt").write_text("\n".join(class_lines) + "\n")
    (directory / GROUND_TRUTH_FILE).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
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

    Raises:
        DataError: ``root`` holds files that are not a shapes dataset.
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
