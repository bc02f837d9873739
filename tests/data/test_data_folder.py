"""The folder format reader: splits, classes, captions and the problems it records."""

from __future__ import annotations

import pytest

from attngan.data.readers.folder import FolderReader
from attngan.data.records import (
    CAPTION_ENCODING,
    MISSING_IMAGE,
    NO_CAPTIONS,
    NO_CLASS,
    ORPHAN_CAPTIONS,
    split_keys,
)
from attngan.errors import DataError


def test_reads_splits_classes_and_captions(mini_folder):
    index = FolderReader(mini_folder).build_index()
    assert [r.key for r in index.splits["train"]] == ["cat_01", "cat_02", "dog_01", "dog_02"]
    assert [r.key for r in index.splits["test"]] == ["bird_01", "bird_02"]
    record = index.splits["train"][2]
    assert record.image_path == mini_folder / "images" / "dog_01.jpg"
    assert record.captions == (
        "a photo of a dog",
        "the dog sits on the grass",
        "a small dog looking at the camera",
    )
    assert [r.class_id for r in index.splits["train"]] == [0, 0, 1, 1]
    assert index.num_classes == 3 and index.problems == [] and index.vocab is None
    assert FolderReader(mini_folder, captions_per_image=2).build_index().splits["test"][0].captions == (
        "a photo of a bird",
        "the bird sits on the grass",
    )


def test_seeded_split_without_split_files(mini_folder):
    (mini_folder / "train.txt").unlink()
    (mini_folder / "test.txt").unlink()
    first = FolderReader(mini_folder, test_fraction=0.34, split_seed=3).build_index()
    again = FolderReader(mini_folder, test_fraction=0.34, split_seed=3).build_index()
    keys = {s: [r.key for r in first.splits[s]] for s in first.splits}
    assert keys == {s: [r.key for r in again.splits[s]] for s in again.splits}
    assert len(keys["test"]) == 2 and sorted(keys["train"] + keys["test"]) == sorted(
        r.key for s in first.splits.values() for r in s
    )
    assert split_keys(["a", "b"], 0.1, 0) in ((["a"], ["b"]), (["b"], ["a"]))


def test_one_split_file_gives_the_other_split(mini_folder):
    (mini_folder / "test.txt").unlink()
    (mini_folder / "train.txt").write_text("cat_01\ndog_01\n")
    index = FolderReader(mini_folder).build_index()
    assert [r.key for r in index.splits["test"]] == ["bird_01", "bird_02", "cat_02", "dog_02"]


def test_problems_are_recorded_with_their_files(mini_folder):
    (mini_folder / "captions" / "cat_02.txt").unlink()
    (mini_folder / "captions" / "ghost.txt").write_text("a ghost\n")
    (mini_folder / "captions" / "dog_01.txt").write_bytes(b"a brown dog \xff\xfe on a sofa\n")
    (mini_folder / "test.txt").write_text("bird_01\nbird_02\nbird_03\n")
    (mini_folder / "classes.txt").write_text("cat_01 0\n")
    index = FolderReader(mini_folder).build_index()
    found = {(p.kind, p.key) for p in index.problems}
    assert (NO_CAPTIONS, "cat_02") in found
    assert (ORPHAN_CAPTIONS, "ghost") in found
    assert (MISSING_IMAGE, "bird_03") in found
    assert (CAPTION_ENCODING, "dog_01") in found and (NO_CLASS, "dog_02") in found
    assert "cat_02" not in {r.key for r in index.splits["train"]}
    dog = next(r for r in index.splits["train"] if r.key == "dog_01")
    assert dog.captions == ("a brown dog \ufffd\ufffd on a sofa",)  # read, and reported
    missing = next(p for p in index.problems if p.kind == MISSING_IMAGE)
    assert missing.path.endswith("bird_03.jpg") and missing.split == "test" and missing.is_bad


def test_missing_root_and_tree_errors_teach(tmp_path, mini_folder):
    with pytest.raises(DataError) as err:
        FolderReader(tmp_path / "nowhere").build_index()
    message = str(err.value)
    assert "nowhere" in message and "does not exist" in message and "captions/<key>.txt" in message
    for unset in (None, "", "null", "???"):  # a root left unset in the config (null, or Hydra's ???)
        with pytest.raises(DataError, match=r"data\.root is not set for the folder dataset"):
            FolderReader(unset).build_index()
    (mini_folder / "captions").rename(mini_folder / "text")
    with pytest.raises(DataError, match=r"missing:\n.*captions"):
        FolderReader(mini_folder).build_index()


def test_bad_split_and_class_files(mini_folder):
    (mini_folder / "classes.txt").write_text("cat_01 zero\n")
    with pytest.raises(DataError, match=r"classes.txt:1"):
        FolderReader(mini_folder).build_index()
    (mini_folder / "classes.txt").unlink()
    (mini_folder / "test.txt").write_text("cat_01\n")
    with pytest.raises(DataError, match=r"both train\.txt and test\.txt"):
        FolderReader(mini_folder).build_index()
    (mini_folder / "test.txt").write_text("bird_01\n")
    (mini_folder / "images" / "cat_01.png").write_bytes((mini_folder / "images" / "cat_01.jpg").read_bytes())
    with pytest.raises(DataError, match="Two images have the key 'cat_01'"):
        FolderReader(mini_folder).build_index()
