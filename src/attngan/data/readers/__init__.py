"""Dataset readers and their registry (no torch, no Lightning).

A reader turns a dataset directory into a :class:`~attngan.data.records.DatasetIndex`; one module per
dataset (:mod:`.folder`, :mod:`.shapes`, :mod:`.cub`, :mod:`.coco`), all built on :class:`DatasetReader`
(:mod:`.base`). ``READERS`` is the explicit registry (``data.name`` -> reader class): a new dataset is a new
module plus one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attngan.data.readers.base import DatasetReader
from attngan.data.readers.coco import COCOReader
from attngan.data.readers.cub import CUBReader
from attngan.data.readers.folder import FolderReader
from attngan.data.readers.shapes import ShapesReader
from attngan.errors import ConfigError

# the keys of a ``data`` config that the data module takes itself (CaptionDataModule's arguments); every other
# key is an option of the dataset's reader. tests/data/test_data_datamodule.py keeps this list and the class in step.
LOADING_KEYS = frozenset(
    {
        "_target_",
        "name",
        "image_sizes",
        "batch_size",
        "eval_batch_size",
        "num_workers",
        "pin_memory",
        "persistent_workers",
        "max_words",
        "on_bad_sample",
        "seed",
        "cache_dir",
        "bad_manifest",
        "resize_ratio",
        "random_flip",
        "caption_index",
        "vocab",
    }
)

READERS: dict[str, type[DatasetReader]] = {
    ShapesReader.name: ShapesReader,
    FolderReader.name: FolderReader,
    CUBReader.name: CUBReader,
    COCOReader.name: COCOReader,
}

__all__ = [
    "LOADING_KEYS",
    "READERS",
    "COCOReader",
    "CUBReader",
    "DatasetReader",
    "FolderReader",
    "ShapesReader",
    "data_keys",
    "make_reader",
    "reader_class",
    "reader_from_config",
]


def reader_class(name: str) -> type[DatasetReader]:
    """The reader class of dataset ``name``.

    Raises:
        ConfigError: no dataset of that name.
    """
    if name not in READERS:
        raise ConfigError(f"Unknown dataset {name!r}; choose data=one of {', '.join(sorted(READERS))}.")
    return READERS[name]


def data_keys(name: str) -> list[str]:
    """Every key a ``data`` config of dataset ``name`` may hold: the :data:`LOADING_KEYS` and its reader's options.

    The data module takes the reader's options as ``**reader_options``, so its signature cannot say which keys a
    dataset takes: config checks ask here (e.g. ``data.num_images`` belongs to shapes, not to folder).

    Raises:
        ConfigError: no dataset of that name.
    """
    return sorted(LOADING_KEYS | set(reader_class(name).options()))


def make_reader(name: str, options: Mapping[str, Any], cache_dir: str | Path | None = None) -> DatasetReader:
    """Build the reader of dataset ``name`` from its config options (``data.root``, ``data.num_images`` ...).

    Args:
        name: the dataset (``data.name``): a key of :data:`READERS`.
        options: the reader's options; every key must be one it takes (:meth:`DatasetReader.options`).
        cache_dir: ``data.cache_dir``, passed on to readers that take it (generated datasets live there).

    Raises:
        ConfigError: no dataset of that name, or an option the reader does not take (named, with the
            options it does take and how to drop it).
    """
    cls = reader_class(name)
    accepted = cls.options()
    if cache_dir is not None and "cache_dir" in accepted:
        options = {"cache_dir": cache_dir, **options}
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        keys = ", ".join(f"data.{k}" for k in unknown)
        them = "it" if len(unknown) == 1 else "them"
        raise ConfigError(
            f"The {name} dataset does not take {keys} (its options: {', '.join(accepted)}; and the loading "
            f"keys of every dataset). Remove {them} from the config, or drop {them} on the command line with "
            f"`{' '.join(f'~data.{k}' for k in unknown)}`."
        )
    return cls(**options)


def reader_from_config(data: Mapping[str, Any]) -> DatasetReader:
    """The reader of a whole ``data`` config, built as the data module builds it (``attngan-data check``).

    Args:
        data: the resolved ``data`` group: ``name``, the :data:`LOADING_KEYS`, and the reader's options.

    Raises:
        ConfigError: ``data.name`` is missing or unknown, or a key is neither a loading key nor an option of
            the reader.
    """
    name = data.get("name")
    if not name:
        raise ConfigError("data.name is missing: pick a dataset config with data=shapes|folder|cub|coco.")
    options = {k: v for k, v in data.items() if k not in LOADING_KEYS}
    return make_reader(str(name), options, cache_dir=data.get("cache_dir"))
