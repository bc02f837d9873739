"""Writing a shapes dataset to disk, atomically, and the cache that generates it on first use.

The dataset is written in the folder format (:mod:`attngan.data.folder`) plus ground truth::

    root/images/<key>.png         64 x 64 RGB
    root/captions/<key>.txt       6 captions, one per line
    root/masks/<key>.png          8-bit label mask: 0 background, k for object k (1-based)
    root/ground_truth.json        {key: {"class_id", "split", "objects": [...]}}
    root/train.txt  root/test.txt root/classes.txt
    root/shapes.json              the generation parameters (marker written last)

``holdout`` (paper Fig. 6, novel compositions) names colour-shape(-position) combinations that never appear in
the training split: every image showing one of them moves to the test split (its ground truth says
``"holdout": true``) and the marker records the list. The images, masks and captions do not change, and with
no holdout every file is byte-identical to a dataset generated without the option.

Generation writes into a temporary sibling directory and renames it into place, so an interrupted run
never leaves a half-written dataset. The same parameters give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
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


Holdout = tuple[tuple[str, ...], ...]  # ("red", "triangle") or ("red", "triangle", "left"), sorted


def parse_holdout(holdout: Iterable[Any] | None) -> Holdout:
    """Held-out combinations in canonical form: ``["red triangle", "blue-circle-left"]`` ->
    ``(("blue", "circle", "left"), ("red", "triangle"))``.

    Each entry is a string of a colour and a shape, optionally a position, separated by spaces, ``-`` or
    ``_`` (or a sequence of those words), in any order.

    Raises:
        DataError: an entry is not one colour + one shape (+ at most one position) of the spec.
    """
    combos = set()
    for entry in holdout or ():
        words = entry.replace("-", " ").replace("_", " ").split() if isinstance(entry, str) else list(entry)
        colours = [w for w in words if w in spec.COLOURS]
        shapes = [w for w in words if w in spec.SHAPES]
        positions = [w for w in words if w in spec.POSITIONS]
        if len(colours) != 1 or len(shapes) != 1 or len(positions) > 1 or len(words) != 2 + len(positions):
            raise DataError(
                f"data.holdout entry {entry!r} is not a colour and a shape (optionally a position), e.g. "
                f"'red triangle' or 'blue circle left'; colours {list(spec.COLOURS)}, shapes {list(spec.SHAPES)}, "
                f"positions {list(spec.POSITIONS)}."
            )
        combos.add((colours[0], shapes[0], *positions))
    return tuple(sorted(combos))


def is_held_out(objects: Iterable[tuple[str, str, str]], holdout: Holdout) -> bool:
    """Whether an image with these ``(colour, shape, position)`` objects shows a held-out combination."""
    return any(
        (colour, shape) == combo[:2] and (len(combo) == 2 or combo[2] == position)
        for colour, shape, position in objects
        for combo in holdout
    )


def shapes_parameters(
    num_images: int, seed: int, test_fraction: float = DEFAULT_TEST_FRACTION, holdout: Iterable[Any] = ()
) -> dict[str, Any]:
    """The generation parameters recorded in the marker file; a different dict means a different dataset.

    ``holdout`` is recorded only when it holds something, so a dataset without one keeps its marker."""
    params: dict[str, Any] = {
        "generator": "attngan.data.shapes",
        "version": GENERATOR_VERSION,
        "num_images": int(num_images),
        "seed": int(seed),
        "test_fraction": float(test_fraction),
        "image_size": spec.IMAGE_SIZE,
        "captions_per_image": CAPTIONS_PER_IMAGE,
    }
    combos = parse_holdout(holdout)
    if combos:
        params["holdout"] = [" ".join(combo) for combo in combos]
    return params


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
    holdout = parse_holdout(params.get("holdout"))
    keys = shapes_keys(num_images)
    train, test = shapes_split(num_images, seed, params["test_fraction"])
    split_of = dict.fromkeys(train, "train") | dict.fromkeys(test, "test")
    truth: dict[str, Any] = {}
    class_lines = []
    held_out = set()
    for i, key in enumerate(keys):
        image, mask, objects, captions = render_shapes_image(seed, i)
        image.save(directory / "images" / f"{key}.png", **_PNG_SETTINGS)
        mask.save(directory / "masks" / f"{key}.png", **_PNG_SETTINGS)
        (directory / "captions" / f"{key}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
        content = [(o.colour, o.shape, o.position) for o in objects]
        class_id = spec.shapes_class_id(content)
        truth[key] = {"class_id": class_id, "split": split_of[key], "objects": [asdict(o) for o in objects]}
        if holdout and is_held_out(content, holdout):  # never seen in training: moved to the test split
            held_out.add(key)
            truth[key].update(split="test", holdout=True)
        class_lines.append(f"{key} {class_id}")
    if held_out:
        if len(held_out) == len(keys):
            raise DataError(
                f"data.holdout={params['holdout']} holds out every image; hold out fewer combinations."
            )
        in_test = held_out | set(test)
        train = [k for k in train if k not in held_out]
        test = [k for k in keys if k in in_test]
    (directory / "train.txt").write_text("\n".join(train) + "\n")
    (directory / "test.txt").write_text("\n".join(test) + "\n")
    (directory / "classes.txt").write_text("\n".join(class_lines) + "\n")
    (directory / GROUND_TRUTH_FILE).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    # last: marks completion
    (directory / MARKER).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")


def generate_shapes(
    root: str | Path,
    num_images: int,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    overwrite: bool = False,
    holdout: Iterable[Any] = (),
) -> Path:
    """Write a shapes dataset to ``root`` (atomically: a temporary sibling directory renamed into place).

    Args:
        root: target directory; must not exist, unless it already holds a shapes dataset with the same
            parameters (then nothing is done) or ``overwrite`` is set.
        num_images: images in total (train + test), at least 2.
        seed: the dataset's seed; the same seed gives byte-identical files.
        test_fraction: share of images in the test split.
        overwrite: replace an existing dataset with other parameters.
        holdout: colour-shape(-position) combinations kept out of the training split (:func:`parse_holdout`).

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
    params = shapes_parameters(num_images, seed, test_fraction, holdout)
    marker = read_marker(root)
    if marker == params:
        return root
    if root.exists() and any(root.iterdir()) and not (overwrite and marker is not None):
        what = f"a shapes dataset with other parameters ({marker})" if marker else "other files"
        hint = "; pass overwrite=true to replace it" if marker else ""
        raise DataError(f"{root} already holds {what}. Choose an empty or new directory{hint}.")
    log.info("Generating the shapes dataset (%d images, seed %d) into %s", num_images, seed, root)
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
    root: str | Path,
    num_images: int,
    seed: int,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    holdout: Iterable[Any] = (),
) -> Path:
    """Generate the dataset into ``root`` unless it is already there with these parameters (the cache).

    A cached copy with other parameters (or an older generator) is regenerated.

    Raises:
        DataError: ``root`` holds files that are not a shapes dataset.
    """
    root = Path(root).expanduser()
    if read_marker(root) is None and root.exists() and any(root.iterdir()):
        raise DataError(
            f"The shapes cache directory {root} holds files that are not a shapes dataset. Remove it or set "
            "data.cache_dir elsewhere."
        )
    return generate_shapes(root, num_images, seed, test_fraction, overwrite=True, holdout=holdout)


def default_shapes_root(
    cache_dir: str | Path, num_images: int, seed: int, holdout: Iterable[Any] = ()
) -> Path:
    """Where the shapes dataset with these parameters is cached under ``cache_dir`` (a held-out set gets its
    own directory, named by a digest of the combinations)."""
    name = f"shapes-n{num_images}-seed{seed}"
    combos = parse_holdout(holdout)
    if combos:
        digest = hashlib.sha256(json.dumps([list(c) for c in combos]).encode()).hexdigest()[:8]
        name += f"-holdout{digest}"
    return Path(cache_dir).expanduser() / name
