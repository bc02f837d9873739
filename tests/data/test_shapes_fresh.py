"""data.fresh_images: training samples rendered anew, the test split unchanged, held-out combinations never drawn."""

from __future__ import annotations

import hydra
import torch

from attngan.data.shapes import parse_holdout, shapes_class_content
from attngan.data.shapes.fresh import FreshShapesDataset
from helpers.training import TINY_DATA, compose_train


def _datamodule(tmp_path, *overrides: str):
    cfg = compose_train(
        tmp_path, "experiment=shapes_attngan", "model.generator.base_size=16", *TINY_DATA, *overrides
    )
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def test_fresh_images_are_new_every_epoch_and_keep_the_test_split(tmp_path) -> None:
    stored = _datamodule(tmp_path)
    fresh = _datamodule(tmp_path, "data.fresh_images=true")
    assert isinstance(fresh.train_dataset, FreshShapesDataset)
    assert not isinstance(fresh.val_dataset, FreshShapesDataset)
    assert len(fresh.train_dataset) == len(stored.train_dataset)
    # the test split is the stored one, sample for sample
    a, b = stored.val_dataset[0], fresh.val_dataset[0]
    assert a["key"] == b["key"] and all(
        torch.equal(x, y) for x, y in zip(a["images"], b["images"], strict=True)
    )

    first = [fresh.train_dataset[(0, seed)] for seed in range(20)]
    assert len({s["key"] for s in first}) == 20  # another image for every sampler seed
    again = fresh.train_dataset[(0, 3)]
    assert again["key"] == first[3]["key"] and torch.equal(again["caption"], first[3]["caption"])  # resumable
    stored_keys = {r.key for r in stored.train_dataset.records}
    assert not stored_keys & {s["key"] for s in first}
    for sample in first:  # a real sample: caption ids of its own text, class id of its objects
        assert (
            fresh.vocab.decode(sample["caption"][: sample["length"]].tolist()).split()[:2]
            == sample["text"].split()[:2]
        )
        assert [im.shape[-1] for im in sample["images"]] == list(fresh.image_sizes)
        assert sample["class_id"] >= 0


def test_fresh_images_never_show_a_held_out_combination(tmp_path) -> None:
    fresh = _datamodule(tmp_path, "data.fresh_images=true", "data.holdout=[red circle,blue square]")
    held = parse_holdout(["red circle", "blue square"])
    for seed in range(300):
        sample = fresh.train_dataset[(seed % 5, seed)]
        pairs = {(c, s) for c, s, _ in shapes_class_content(sample["class_id"])}
        assert not pairs & set(held)
