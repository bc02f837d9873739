"""The built-in shapes dataset: determinism, ground truth, captions, class ids, the cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from attngan.data.shapes import (
    CAPTIONS_PER_IMAGE,
    NUM_CLASSES,
    default_shapes_root,
    ensure_shapes,
    generate_shapes,
    load_ground_truth,
    read_marker,
    shapes_class_content,
    shapes_class_id,
    spec,
)
from attngan.errors import DataError
from attngan.text import tokenize


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(tmp_path):
    first = _files(generate_shapes(tmp_path / "a", num_images=12, seed=5))
    second = _files(generate_shapes(tmp_path / "b", num_images=12, seed=5))
    assert first == second
    assert len([f for f in first if f.startswith("images/")]) == 12
    other = _files(generate_shapes(tmp_path / "c", num_images=12, seed=6))
    assert other["images/shape_00000.png"] != first["images/shape_00000.png"] or other != first


def test_ground_truth_matches_pixels(shapes_root):
    truth = load_ground_truth(shapes_root)
    assert len(truth) == 48
    counts = {1: 0, 2: 0}
    for key, image_truth in truth.items():
        pixels = np.asarray(Image.open(shapes_root / "images" / f"{key}.png").convert("RGB"))
        mask = image_truth.mask()
        assert pixels.shape == (*mask.shape, 3) == (spec.IMAGE_SIZE, spec.IMAGE_SIZE, 3)
        counts[len(image_truth.objects)] += 1
        assert set(np.unique(mask)) == {0} | {o.index for o in image_truth.objects}
        assert np.all(pixels[mask == 0] == spec.BACKGROUND_RGB)
        for obj in image_truth.objects:
            inside = pixels[mask == obj.index]
            assert inside.mean(axis=0).tolist() == list(spec.COLOURS[obj.colour]) == list(obj.rgb)
            ys, xs = np.nonzero(mask == obj.index)
            assert obj.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) and obj.area == len(xs)
            # the object's box is centred (up to a small jitter) where its position names
            fx, fy = spec.POSITIONS[obj.position]
            x0, y0, x1, y1 = obj.bbox
            assert (
                abs((x0 + x1) / 2 - fx * spec.IMAGE_SIZE) < 3.5
                and abs((y0 + y1) / 2 - fy * spec.IMAGE_SIZE) < 3.5
            )
        if len(image_truth.objects) == 2:
            pair = tuple(sorted(o.position for o in image_truth.objects))
            assert pair in {tuple(sorted(p)) for p in spec.POSITION_PAIRS}
        assert image_truth.class_id == shapes_class_id(
            (o.colour, o.shape, o.position) for o in image_truth.objects
        )
    assert counts[1] > 5 and counts[2] > 5


def test_captions_name_the_objects(shapes_root):
    truth = load_ground_truth(shapes_root)
    phrasings = set()
    for key, image_truth in truth.items():
        captions = (shapes_root / "captions" / f"{key}.txt").read_text().splitlines()
        assert len(captions) == CAPTIONS_PER_IMAGE >= 5 and len(set(captions)) == len(captions)
        for caption in captions:
            words = tokenize(caption)
            assert len(words) <= 18  # conf/data/shapes.yaml max_words: never truncated
            for obj in image_truth.objects:
                assert obj.colour in words and obj.shape in words
                assert set(spec.POSITION_WORDS[obj.position]) & set(words), caption
                # a size word, when given, is the size of the object it describes
                for i in range(1, len(words) - 1):
                    if (words[i], words[i + 1]) == (obj.colour, obj.shape) and words[i - 1] in spec.SIZES:
                        sizes = {
                            o.size
                            for o in image_truth.objects
                            if (o.colour, o.shape) == (obj.colour, obj.shape)
                        }
                        assert words[i - 1] in sizes, caption
            other_colours = set(spec.COLOURS) - {o.colour for o in image_truth.objects}
            assert not other_colours & set(words)
            phrasings.add(
                " ".join(w for w in words if w not in set(spec.COLOURS) | set(spec.SHAPES) | set(spec.SIZES))
            )
    assert len(phrasings) >= 15  # word order and phrasing vary


def test_splits_and_classes_files(shapes_root):
    train = (shapes_root / "train.txt").read_text().split()
    test = (shapes_root / "test.txt").read_text().split()
    assert len(train) + len(test) == 48 and not set(train) & set(test) and len(test) == round(0.2 * 48)
    classes = dict(line.split() for line in (shapes_root / "classes.txt").read_text().splitlines())
    truth = load_ground_truth(shapes_root)
    assert {k: int(v) for k, v in classes.items()} == {k: t.class_id for k, t in truth.items()}
    assert {t.split for k, t in truth.items() if k in test} == {"test"}


def test_class_ids_are_stable_and_order_free():
    assert NUM_CLASSES == 8 * 3 * 5 + 2 * 24 * 24
    assert shapes_class_id([("red", "circle", "left")]) == 0
    a = shapes_class_id([("red", "circle", "left"), ("blue", "square", "right")])
    assert a == shapes_class_id([("blue", "square", "right"), ("red", "circle", "left")])
    assert a != shapes_class_id([("red", "circle", "left"), ("blue", "triangle", "right")])
    ids = {shapes_class_id(shapes_class_content(i)) for i in range(NUM_CLASSES)}
    assert ids == set(range(NUM_CLASSES))
    with pytest.raises(ValueError, match="Unknown"):
        shapes_class_id([("pink", "circle", "left")])
    with pytest.raises(ValueError, match="opposite sides"):
        shapes_class_id([("red", "circle", "left"), ("red", "circle", "top")])


def test_position_is_part_of_the_class():
    """Same colour and shape on another side is another class: DAMSM and R-precision may use it as a negative."""
    left = shapes_class_id([("red", "circle", "left")])
    right = shapes_class_id([("red", "circle", "right")])
    assert left != right
    swapped = shapes_class_id([("red", "circle", "right"), ("blue", "square", "left")])
    assert swapped != shapes_class_id([("red", "circle", "left"), ("blue", "square", "right")])


def test_cache_is_reused_and_regenerated_when_parameters_change(tmp_path):
    root = default_shapes_root(tmp_path, 6, 1)
    ensure_shapes(root, 6, 1)
    stamp = (root / "images" / "shape_00000.png").stat().st_mtime_ns
    ensure_shapes(root, 6, 1)
    assert (root / "images" / "shape_00000.png").stat().st_mtime_ns == stamp
    ensure_shapes(root, 8, 1)  # same directory, other parameters: regenerated
    assert read_marker(root)["num_images"] == 8 and len(list((root / "images").iterdir())) == 8
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] in (
        [],
        ["vocab"],
    )  # no temp dirs left


def test_generate_refuses_foreign_directories(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="other files"):
        generate_shapes(tmp_path / "mine", num_images=4)
    generate_shapes(tmp_path / "s", num_images=4, seed=0)
    with pytest.raises(DataError, match="overwrite"):
        generate_shapes(tmp_path / "s", num_images=5, seed=0)
    generate_shapes(tmp_path / "s", num_images=5, seed=0, overwrite=True)
    assert json.loads((tmp_path / "s" / "shapes.json").read_text())["num_images"] == 5
    with pytest.raises(DataError, match="not a generated shapes dataset"):
        load_ground_truth(tmp_path / "mine")
