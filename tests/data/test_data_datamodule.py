"""DataModules: batch contract, reproducibility, configs, vocabularies and the bad-sample policies."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from attngan.data import CaptionDataModule
from attngan.errors import BadSampleError, ConfigError
from attngan.text import Vocabulary


def _shapes(root, **kwargs):
    options = {"root": root, "image_sizes": [16, 32, 64], "batch_size": 8, "seed": 1, **kwargs}
    module = CaptionDataModule(name="shapes", **options)
    module.setup("fit")
    return module


def _folder(root, **kwargs):
    options = {"root": root, "image_sizes": [16, 32], "batch_size": 2, "seed": 0, **kwargs}
    module = CaptionDataModule(name="folder", **options)
    module.setup("fit")
    return module


def test_batches_follow_the_contract(shapes_root):
    module = _shapes(shapes_root, max_words=12)
    assert module.image_sizes == [16, 32, 64] and module.num_classes == 1272
    assert len(module.train_dataset) + len(module.val_dataset) == 48
    for loader, count in (
        (module.train_dataloader(), len(module.train_dataset) // 8),
        (module.val_dataloader(), None),
    ):
        batches = list(loader)
        if count is not None:
            assert len(batches) == count  # drop_last in training
        batch = batches[0]
        assert set(batch) == {"images", "captions", "lengths", "class_ids", "keys", "texts"}
        for size, images in zip([16, 32, 64], batch["images"]):
            assert images.shape == (8, 3, size, size) and images.dtype == torch.float32
            assert images.min() >= -1.0 and images.max() <= 1.0 and images.min() < -0.8 and images.max() > 0.5
        assert batch["captions"].shape == (8, 12) and batch["captions"].dtype == torch.long
        assert batch["lengths"].dtype == torch.long and (batch["lengths"] >= 1).all()
        for caption, length, text in zip(batch["captions"], batch["lengths"], batch["texts"]):
            assert (caption[length:] == 0).all() and (caption[:length] > 0).all()
            if length < 12:
                assert module.vocab.decode(caption.tolist()) == " ".join(text.lower().split())
        assert batch["class_ids"].shape == (8,) and (batch["class_ids"] >= 0).all()
        assert len(batch["keys"]) == len(batch["texts"]) == 8


def test_training_is_reproducible_and_varies_by_epoch(shapes_root):
    def first_batches(num_workers, epoch):
        loader = _shapes(shapes_root, num_workers=num_workers).train_dataloader()
        loader.sampler.set_epoch(epoch)
        return [b for _, b in zip(range(2), loader)]

    reference = first_batches(0, 0)
    for other in (first_batches(0, 0), first_batches(2, 0)):  # same with worker processes
        for a, b in zip(reference, other):
            assert a["keys"] == b["keys"] and a["texts"] == b["texts"]
            assert torch.equal(a["captions"], b["captions"]) and torch.equal(a["images"][2], b["images"][2])
    next_epoch = first_batches(0, 1)
    assert next_epoch[0]["keys"] != reference[0]["keys"]


def test_evaluation_is_deterministic_and_uses_caption_zero(shapes_root):
    module = _shapes(shapes_root)
    first, second = next(iter(module.val_dataloader())), next(iter(module.val_dataloader()))
    assert first["keys"] == second["keys"] and torch.equal(first["images"][0], second["images"][0])
    key = first["keys"][0]
    assert first["texts"][0] == (shapes_root / "captions" / f"{key}.txt").read_text().splitlines()[0]
    image = Image.open(shapes_root / "images" / f"{key}.png").convert("RGB")
    expected = (
        torch.from_numpy(__import__("numpy").asarray(image).copy()).permute(2, 0, 1).float() / 127.5 - 1
    )
    assert torch.allclose(first["images"][2][0], expected)  # shapes: no crop, no flip, exact pixels


def test_folder_training_crops_and_flips(mini_folder):
    module = _folder(mini_folder, image_sizes=[32])
    dataset = module.train_dataset
    views = {tuple(dataset[(0, seed)]["images"][0].flatten()[:50].tolist()) for seed in range(6)}
    assert len(views) > 1  # random crops / flips
    assert torch.equal(module.val_dataset[0]["images"][0], module.val_dataset[0]["images"][0])
    assert module.num_classes == 3 and module.train_dataset[0]["class_id"] == 0


def test_every_data_config_instantiates(data_config, shapes_root, mini_folder):
    for name in ("cub", "coco", "folder", "shapes"):
        cfg = data_config(name)
        assert cfg["image_sizes"] == [32, 64] and cfg["on_bad_sample"] == "error"
        assert cfg["_target_"] == "attngan.data.CaptionDataModule"  # one class; data.name picks the reader
        module = instantiate(cfg)
        assert type(module) is CaptionDataModule and module.dataset_name == name
    assert data_config("cub")["captions_per_image"] == 10 and data_config("cub")["max_words"] == 18
    assert data_config("coco")["captions_per_image"] == 5 and data_config("coco")["max_words"] == 15
    module = instantiate(data_config("folder", f"data.root={mini_folder}", "data.num_workers=0"))
    module.setup()
    assert len(module.train_dataset) == 4 and module.vocab is not None


def test_shapes_config_generates_into_the_cache(data_config, tmp_path):
    cfg = data_config("shapes", "data.num_images=10", "data.batch_size=4")
    module = instantiate(cfg)
    module.prepare_data()
    module.setup()
    assert str(module.root).startswith(str(tmp_path / ".cache" / "data"))
    assert len(module.train_dataset) == 8 and next(iter(module.train_dataloader()))["images"][0].shape == (
        4,
        3,
        32,
        32,
    )


def test_configuration_errors_teach(shapes_root):
    with pytest.raises(ConfigError, match="batch_size=64 is larger than the"):
        _shapes(shapes_root, batch_size=64).train_dataloader()
    with pytest.raises(ConfigError, match="on_bad_sample"):
        CaptionDataModule(name="shapes", root=shapes_root, on_bad_sample="ignore")
    with pytest.raises(ValueError, match="increasing"):
        CaptionDataModule(name="shapes", root=shapes_root, image_sizes=[64, 32])


def test_enforced_vocabulary_and_state_dict(mini_folder, caplog):
    own = _folder(mini_folder)
    assert own.vocab == Vocabulary.from_captions(
        c for split in (own.train_dataset, own.val_dataset) for r in split.records for c in r.captions
    )
    given = Vocabulary(["the", "a", "cat", "dog", "bird", "photo", "of"])
    with caplog.at_level(logging.WARNING):
        module = _folder(mini_folder, vocab=given.to_list())
    assert module.vocab == given and module.vocab_source == "given"
    assert "words not in the vocabulary" in caplog.text and "'grass'" in caplog.text
    sample = module.val_dataset[0]
    assert given.decode(sample["caption"].tolist()) == "a photo of a bird"
    restored = _folder(mini_folder)
    restored.load_state_dict(module.state_dict())
    assert restored.vocab == given and torch.equal(restored.val_dataset[0]["caption"], sample["caption"])


def _break_images(root):
    (root / "images" / "cat_02.png").write_bytes(b"")  # zero-byte: found while indexing
    (root / "images" / "dog_01.jpg").write_bytes(b"this is not an image")  # found when decoding
    data = (root / "images" / "dog_02.png").read_bytes()
    (root / "images" / "dog_02.png").write_bytes(data[: len(data) // 2])  # truncated


def test_on_bad_sample_error_names_the_file(mini_folder):
    _break_images(mini_folder)
    with pytest.raises(BadSampleError, match=r"cat_02.png: unreadable image \(zero-byte file\)"):
        _folder(mini_folder)
    (mini_folder / "images" / "cat_02.png").unlink()
    (mini_folder / "train.txt").write_text("cat_01\ndog_01\ndog_02\n")
    module = _folder(mini_folder)
    with pytest.raises(BadSampleError, match=r"dog_01\.jpg: cannot decode image"):
        module.train_dataset[1]
    with pytest.raises(BadSampleError, match=r"dog_02\.png: cannot decode image.*truncated"):
        module.train_dataset[2]


@pytest.mark.parametrize("num_workers", [0, 1])
def test_on_bad_sample_skip_replaces_counts_and_reports(mini_folder, num_workers, caplog):
    _break_images(mini_folder)
    with caplog.at_level(logging.WARNING):
        module = _folder(mini_folder, on_bad_sample="skip", num_workers=num_workers, batch_size=1)
    assert [p.path.endswith("cat_02.png") for p in module.bad_samples] == [True]
    assert "Left out 1 bad samples" in caplog.text
    batches = list(module.train_dataloader())
    assert len(batches) == 3  # cat_01, dog_01, dog_02 -> the broken two are replaced by readable images
    assert {k for b in batches for k in b["keys"]} <= {"cat_01"}
    bad = sorted(p.path.rsplit("/", 1)[-1] for p in module.bad_samples)
    assert bad == ["cat_02.png", "dog_01.jpg", "dog_02.png"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        reported = module.report_bad_samples()
    assert len(reported) == 3 and "3 bad samples were skipped" in caplog.text
    assert module.report_bad_samples() == []  # each one is reported once


def test_bad_manifest_leaves_samples_out(mini_folder, tmp_path):
    manifest = tmp_path / "bad.json"
    manifest.write_text(
        json.dumps({"bad_samples": [{"key": "dog_01", "path": "x", "kind": "unreadable image"}]})
    )
    module = _folder(mini_folder, bad_manifest=manifest)
    assert "dog_01" not in [r.key for r in module.train_dataset.records] and len(module.train_dataset) == 3


def test_set_vocabulary_after_setup_reencodes_and_warns(mini_folder, caplog):
    module = _folder(mini_folder)
    given = Vocabulary(["photo", "of", "a", "bird", "cat", "dog"])
    with caplog.at_level(logging.WARNING):
        module.set_vocabulary(given)
    assert module.vocab is given and "'grass'" in caplog.text
    sample = module.val_dataset[0]
    assert sample["caption"][: sample["length"]].tolist() == [3, 1, 2, 3, 4]  # "a photo of a bird"
