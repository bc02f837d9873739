"""The reader registry, reader options, the one DataModule, worker errors and when shapes are generated."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from attngan.cli.data import main
from attngan.data import CaptionDataModule, FolderDataModule, ShapesDataModule
from attngan.data.dataset import collate_captions
from attngan.data.readers import (
    LOADING_KEYS,
    READERS,
    FolderReader,
    ShapesReader,
    data_keys,
    make_reader,
    reader_from_config,
)
from attngan.errors import BadSampleError, ConfigError, DataError


def test_the_registry_names_every_reader():
    assert {name: cls.name for name, cls in READERS.items()} == {
        n: n for n in ("shapes", "folder", "cub", "coco")
    }
    assert FolderReader.options() == ["captions_per_image", "root", "split_seed", "test_fraction"]
    # the light list of the data module's own keys is the data module's signature
    own = set(inspect.signature(CaptionDataModule).parameters) - {"reader", "reader_options"}
    assert own == LOADING_KEYS - {"_target_"}


def test_an_unknown_reader_option_is_an_error_naming_it(mini_folder):
    with pytest.raises(ConfigError) as err:
        make_reader("folder", {"root": mini_folder, "num_images": 10})
    message = str(err.value)
    assert "folder dataset does not take data.num_images" in message and "~data.num_images" in message
    assert "test_fraction" in message and "split_seed" in message  # the options it does take
    with pytest.raises(ConfigError, match=r"data\.num_images"):
        CaptionDataModule(name="folder", root=mini_folder, num_images=10)
    with pytest.raises(ConfigError, match="Unknown dataset 'birds'"):
        make_reader("birds", {})
    with pytest.raises(ConfigError, match=r"data.num_images='abc' is not an int"):
        CaptionDataModule(name="shapes", num_images="abc")
    # a whole data config: loading keys go to the data module, the rest to the reader
    reader = reader_from_config(
        {"name": "folder", "root": str(mini_folder), "batch_size": 2, "test_fraction": 0.5}
    )
    assert isinstance(reader, FolderReader) and reader.test_fraction == 0.5
    with pytest.raises(ConfigError, match=r"data\.crop_to_bbox"):
        reader_from_config({"name": "folder", "root": str(mini_folder), "crop_to_bbox": True})


def test_each_dataset_declares_its_keys():
    keys = set(data_keys("shapes"))
    assert {"num_images", "generation_seed", "generate", "batch_size", "root"} <= keys
    assert "num_images" not in data_keys("folder") and "crop_to_bbox" in data_keys("cub")
    with pytest.raises(ConfigError, match="Unknown dataset 'birds'"):
        data_keys("birds")


def test_one_data_module_takes_a_reader(mini_folder):
    module = CaptionDataModule(
        reader=FolderReader(mini_folder, test_fraction=0.5), image_sizes=[16], batch_size=2
    )
    module.setup()
    assert module.dataset_name == "folder" and len(module.train_dataset) == 4
    assert isinstance(CaptionDataModule(name="folder", root=mini_folder).reader, FolderReader)
    with pytest.raises(ConfigError, match="ready folder reader and also the reader options split_seed"):
        CaptionDataModule(reader=FolderReader(mini_folder), split_seed=3)
    with pytest.raises(ConfigError, match=r"data\.name=.cub. does not match the given folder reader"):
        CaptionDataModule(name="cub", reader=FolderReader(mini_folder))
    with pytest.raises(ConfigError, match=r"data\.name is missing"):
        CaptionDataModule()
    # the dataset's own defaults: shapes are neither flipped nor jittered, COCO captions are 15 words
    assert CaptionDataModule(name="shapes").transform.random_flip is False
    assert CaptionDataModule(name="coco").max_words == 15 and CaptionDataModule(name="folder").max_words == 18
    # the shorthands of the quick-start notebook are the same class with the name filled in
    shapes, folder = ShapesDataModule(), FolderDataModule(root=mini_folder)
    assert type(shapes) is type(folder) is CaptionDataModule
    assert (shapes.dataset_name, folder.dataset_name) == ("shapes", "folder")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("num_workers", [0, 1])
def test_a_corrupt_image_in_a_worker_is_one_clear_error(mini_folder, num_workers):
    image = mini_folder / "images" / "dog_02.png"  # a training image, found only when decoded
    _truncate(image)
    module = CaptionDataModule(
        name="folder", root=mini_folder, image_sizes=[16], batch_size=4, num_workers=num_workers
    )
    module.setup()
    with pytest.raises(BadSampleError) as err:
        list(module.train_dataloader())
    assert err.value.path == str(image) and str(err.value).startswith(f"{image}: cannot decode image")
    assert "Traceback" not in str(err.value) and "DataLoader worker" not in str(err.value)
    if num_workers:
        assert err.value.sample_key == "dog_02"
        # a plain DataLoader with collate_captions: the failed batch raises the same error when used
        plain = DataLoader(module.train_dataset, batch_size=4, num_workers=1, collate_fn=collate_captions)
        with pytest.raises(BadSampleError, match=r"dog_02\.png: cannot decode image"):
            next(iter(plain))["images"]


def test_shapes_never_generate_silently_into_a_given_root(tmp_path, shapes_root):
    typo = tmp_path / "shapse"
    with pytest.raises(DataError) as err:
        ShapesReader(root=typo, num_images=10).build_index()
    assert f"data.root={typo} does not exist" in str(err.value)
    assert f"attngan-data shapes root={typo} num_images=10 seed=0" in str(err.value)
    assert not typo.exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is not a generated shapes dataset \\(it is empty\\)"):
        ShapesReader(root=tmp_path / "empty").build_index()
    # asked explicitly: generated there
    index = ShapesReader(root=typo, num_images=10, generate=True).build_index()
    assert index.root == typo and len(index.splits["train"]) + len(index.splits["test"]) == 10
    # the default root is the cache, generated on first use
    cached = ShapesReader(cache_dir=tmp_path / "cache", num_images=10)
    cached.prepare()
    assert cached.resolve_root(create=False).is_relative_to(tmp_path / "cache")
    assert ShapesReader(root=shapes_root).build_index().num_classes == 1272


def test_cli_check_does_not_generate_into_a_missing_root(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["check", "data=shapes", f"data.root={tmp_path / 'typo'}"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "attngan-data shapes root=" in err and "Traceback" not in err
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("num_images=abc", "num_images=abc is refused: num_images takes an integer"),
        ("test_fraction=x", "test_fraction=x"),
    ],
)
def test_cli_shapes_with_a_bad_number_is_one_line(tmp_path, capsys, override, expected):
    with pytest.raises(SystemExit) as done:
        main(["shapes", f"root={tmp_path / 's'}", override])
    err = capsys.readouterr().err
    assert done.value.code == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "s").exists()
