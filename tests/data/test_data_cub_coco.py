"""CUB and COCO in the layouts researchers have on disk (mini trees built by conftest)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attngan.data import CaptionDataModule, bird_crop_box
from attngan.data.captions import vocabulary_cache_path
from attngan.data.readers.coco import COCOReader
from attngan.data.readers.cub import CUBReader
from attngan.errors import DataError
from attngan.text import Vocabulary
from helpers.datasets import COCO_TRAIN, COCO_VAL, CUB_IMAGES, release_vocabulary


def _cub(root, **kwargs):
    module = CaptionDataModule(name="cub", root=root, image_sizes=[16, 32], batch_size=2, **kwargs)
    module.setup()
    return module


def test_bird_crop_box_follows_the_release():
    # r = int(max(40, 30) * 0.75) = 30, centre (int(100 / 2), int(70 / 2)) = (50, 35)
    assert bird_crop_box((30.0, 20.0, 40.0, 30.0), 120, 90) == (20, 5, 80, 65)
    # float boxes are truncated first, like the release's astype(int); the square is clipped to the image
    assert bird_crop_box((5.9, 30.2, 70.7, 40.0), 90, 120) == (0, 0, 90, 102)  # r = 52, centre (40, 50)
    assert bird_crop_box((60.0, 5.0, 45.0, 70.0), 110, 80) == (30, 0, 110, 80)


def test_cub_splits_classes_vocabulary_and_crops(mini_cub):
    module = _cub(mini_cub)
    train_keys = [row[0] for row in CUB_IMAGES if row[2] == "train"]
    assert [r.key for r in module.train_dataset.records] == train_keys
    assert [r.class_id for r in module.val_dataset.records] == [1, 3]
    assert module.num_classes == 4  # ids are the release's 1..3; they lie in [0, 4)
    # ids exactly as captions.pickle (deliberately not sorted), so released encoders fit
    captions = {
        r.key: list(r.captions) for d in (module.train_dataset, module.val_dataset) for r in d.records
    }
    assert module.vocab.words == release_vocabulary(captions) and module.vocab != Vocabulary.from_captions(
        c for caps in captions.values() for c in caps
    )
    assert module.vocab_source.endswith("captions.pickle")
    batch = next(iter(module.val_dataloader()))
    assert batch["keys"] == [row[0] for row in CUB_IMAGES if row[2] == "test"]
    assert batch["class_ids"].tolist() == [1, 3]
    assert batch["texts"][0] == (mini_cub / "text" / f"{batch['keys'][0]}.txt").read_text().splitlines()[0]
    # the bird's crop region is painted white in the fixture: a correct crop sees only white
    for images in batch["images"]:
        assert images.mean() > 0.95 and images.min() > 0.5
    uncropped = _cub(mini_cub, crop_to_bbox=False)
    assert next(iter(uncropped.val_dataloader()))["images"][1].min() < -0.5  # the dark surroundings show


def test_cub_training_batch(mini_cub):
    module = _cub(mini_cub, max_words=6)
    batches = list(module.train_dataloader())
    assert len(batches) == 2
    for batch in batches:
        assert batch["images"][0].shape == (2, 3, 16, 16) and batch["images"][1].shape == (2, 3, 32, 32)
        assert batch["captions"].shape == (2, 6) and set(batch["class_ids"].tolist()) <= {1, 2, 3}
        for text, caption, length in zip(batch["texts"], batch["captions"], batch["lengths"]):
            words = module.vocab.decode(caption[:length].tolist()).split()
            full = text.lower().rstrip(".").split()
            assert length == min(6, len(full))
            position = 0  # a subset of the caption's words, in their order
            for word in words:
                position = full.index(word, position) + 1


def test_cub_without_captions_pickle_builds_and_caches_the_vocabulary(make_mini_cub, tmp_path):
    root = make_mini_cub(captions_pickle=False, class_info=False)
    module = _cub(root, cache_dir=tmp_path / "cache")
    assert module.vocab.words == sorted(module.vocab.words)
    index = CUBReader(root).build_index()
    cached = vocabulary_cache_path(tmp_path / "cache", index)
    assert Vocabulary.load(cached) == module.vocab
    assert module.num_classes is None and {r.class_id for r in module.train_dataset.records} == {-1}
    # a cached vocabulary is reused as long as it covers the captions
    Vocabulary([*module.vocab.words[::-1], "extra"]).save(cached)
    assert _cub(root, cache_dir=tmp_path / "cache").vocab.words[-1] == "extra"


def test_cub_errors_show_the_layout_and_sources(tmp_path, mini_cub, py2_pickle):
    with pytest.raises(DataError) as err:
        CUBReader(tmp_path / "nothing").build_index()
    message = str(err.value)
    for expected in (
        "does not exist",
        "CUB_200_2011/images.txt",
        "bounding_boxes.txt",
        "CUB_200_2011.tgz",
        "birds.zip",
    ):
        assert expected in message
    (mini_cub / "test" / "filenames.pickle").unlink()
    with pytest.raises(DataError, match=r"incomplete; missing:\n.*test/filenames.pickle"):
        CUBReader(mini_cub).build_index()
    (mini_cub / "test" / "filenames.pickle").write_bytes(py2_pickle([CUB_IMAGES[1][0]]))
    (mini_cub / "test" / "class_info.pickle").write_bytes(py2_pickle(np.array([1, 2, 3])))
    with pytest.raises(DataError, match=r"3 class ids but .* lists 1 images"):
        CUBReader(mini_cub).build_index()


def test_coco_official_download(mini_coco):
    assert COCOReader(mini_coco).layout(mini_coco) == "official"
    module = CaptionDataModule(name="coco", root=mini_coco, image_sizes=[32], batch_size=3)
    module.setup()
    assert [r.key for r in module.train_dataset.records] == COCO_TRAIN
    assert [r.key for r in module.val_dataset.records] == COCO_VAL
    assert module.num_classes is None and module.max_words == 15
    annotations = json.loads((mini_coco / "annotations" / "captions_train2014.json").read_text())[
        "annotations"
    ]
    first = [a["caption"] for a in annotations if a["image_id"] == 9]
    assert len(first) == 6 and module.train_dataset.records[0].captions == tuple(first[:5])
    batch = next(iter(module.train_dataloader()))
    assert batch["images"][0].shape == (3, 3, 32, 32) and batch["class_ids"].tolist() == [-1, -1, -1]
    assert batch["captions"].shape == (3, 15)
    assert module.vocab.words == sorted(module.vocab.words)


def test_coco_authors_layout_uses_the_release_vocabulary(make_mini_coco):
    root = make_mini_coco("authors")
    assert COCOReader(root).layout(root) == "authors"
    module = CaptionDataModule(name="coco", root=root, image_sizes=[32], batch_size=3)
    module.setup()
    assert [r.key for r in module.val_dataset.records] == COCO_VAL
    captions = {
        r.key: list(r.captions) for d in (module.train_dataset, module.val_dataset) for r in d.records
    }
    assert module.vocab.words == release_vocabulary(captions)
    sample = module.val_dataset[0]
    assert (
        module.vocab.decode(sample["caption"][: sample["length"]].tolist()).split()
        == sample["text"].lower().rstrip(".").split()[:15]
    )


def test_coco_without_either_layout_lists_both(tmp_path):
    (tmp_path / "coco").mkdir()
    with pytest.raises(DataError) as err:
        COCOReader(tmp_path / "coco").build_index()
    message = str(err.value)
    assert "train/filenames.pickle" in message and "annotations/captions_train2014.json" in message
    assert "cocodataset.org" in message
