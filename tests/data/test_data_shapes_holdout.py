"""data.holdout: colour-shape(-position) combinations kept out of the shapes training split (paper Fig. 6)."""

from __future__ import annotations

import json

import pytest

from attngan.data.readers.shapes import ShapesReader
from attngan.data.shapes import (
    default_shapes_root,
    generate_shapes,
    is_held_out,
    load_ground_truth,
    parse_holdout,
    read_marker,
)
from attngan.errors import DataError


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_no_holdout_is_byte_identical(tmp_path):
    assert _files(generate_shapes(tmp_path / "a", 24, seed=3)) == _files(
        generate_shapes(tmp_path / "b", 24, seed=3, holdout=[])
    )
    assert "holdout" not in read_marker(tmp_path / "b")
    assert default_shapes_root(tmp_path, 24, 3, []) == default_shapes_root(tmp_path, 24, 3)


def test_held_out_images_move_to_the_test_split(tmp_path):
    plain = _files(generate_shapes(tmp_path / "plain", 60, seed=1))
    root = generate_shapes(tmp_path / "held", 60, seed=1, holdout=["red triangle", "blue-circle-left"])
    held = _files(root)
    # pixels, masks and captions do not change; only the split files, the ground truth and the marker do
    assert {k for k in plain if plain[k] != held.get(k)} <= {
        "train.txt",
        "test.txt",
        "ground_truth.json",
        "shapes.json",
    }
    assert read_marker(root)["holdout"] == ["blue circle left", "red triangle"]
    combos = parse_holdout(read_marker(root)["holdout"])
    truth = load_ground_truth(root)
    train, test = (root / "train.txt").read_text().split(), (root / "test.txt").read_text().split()
    showing = {
        k
        for k, t in truth.items()
        if is_held_out([(o.colour, o.shape, o.position) for o in t.objects], combos)
    }
    assert showing, "the seed should draw at least one held-out image"
    assert not showing & set(train) and showing <= set(test)
    assert set(train) | set(test) == set(truth) and not set(train) & set(test)
    raw = json.loads(held["ground_truth.json"])
    assert all(raw[k].get("holdout") and raw[k]["split"] == "test" for k in showing)
    assert set(plain["test.txt"].decode().split()) <= set(
        test
    )  # the plain test images stay in the test split


def test_parse_holdout_canonical_and_errors():
    assert parse_holdout(["triangle red", "blue_circle_left", ["red", "triangle"]]) == (
        ("blue", "circle", "left"),
        ("red", "triangle"),
    )
    for bad in ("red", "red blue circle", "pink circle", "red circle left right", "red circle big"):
        with pytest.raises(DataError, match=r"data\.holdout entry"):
            parse_holdout([bad])


def test_reader_caches_each_holdout_apart_and_checks_a_given_root(tmp_path):
    reader = ShapesReader(
        cache_dir=tmp_path / "cache", num_images=40, generation_seed=2, holdout=["green square"]
    )
    index = reader.build_index()
    assert reader.root != default_shapes_root(tmp_path / "cache", 40, 2)
    combos = parse_holdout(["green square"])
    for record in index.splits["train"]:
        truth = load_ground_truth(reader.root)[record.key]
        assert not is_held_out([(o.colour, o.shape, o.position) for o in truth.objects], combos)
    plain = generate_shapes(tmp_path / "plain", 40, seed=2)
    with pytest.raises(DataError, match="generated with holdout"):
        ShapesReader(root=plain, num_images=40, generation_seed=2, holdout=["green square"]).build_index()
