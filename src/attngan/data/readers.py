"""The dataset readers and their registry, without torch or Lightning (``attngan-data check`` stays light)."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from attngan.data.records import DatasetIndex, require_root
from attngan.errors import ConfigError


class DatasetReader(ABC):
    """Turns a dataset directory into a :class:`~attngan.data.records.DatasetIndex`.

    Subclasses set ``name``, ``expected_layout`` (the tree, as text) and ``source_help`` (where the files
    come from), which every error about a missing or incomplete dataset quotes.

    Args:
        root: the dataset directory (``data.root``).
        captions_per_image: keep the first N captions of each image (``None``: all).
    """

    name: ClassVar[str]
    expected_layout: ClassVar[str]
    source_help: ClassVar[str]

    def __init__(self, root: str | Path | None, captions_per_image: int | None = None) -> None:
        self.root = root
        self.captions_per_image = None if captions_per_image is None else int(captions_per_image)

    def require_root(self) -> Path:
        """``self.root`` as a ``Path``, or a :class:`DataError` showing the expected layout."""
        return require_root(self.root, self.name, self.expected_layout, self.source_help)

    @abstractmethod
    def build_index(self) -> DatasetIndex:
        """Read the dataset's metadata and caption files (images are only checked to exist here)."""


def reader_classes() -> dict[str, type[DatasetReader]]:
    """Dataset name -> reader class."""
    from attngan.data.coco import COCOReader
    from attngan.data.cub import CUBReader
    from attngan.data.folder import FolderReader, ShapesReader

    return {cls.name: cls for cls in (ShapesReader, FolderReader, CUBReader, COCOReader)}


def make_reader(name: str, options: Mapping[str, Any]) -> DatasetReader:
    """Build the reader of dataset ``name`` from a config mapping, taking only the keys it accepts.

    Raises:
        ConfigError: no dataset of that name.
    """
    classes = reader_classes()
    if name not in classes:
        raise ConfigError(f"Unknown dataset {name!r}; choose data=one of {sorted(classes)}.")
    cls = classes[name]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return cls(**{k: v for k, v in options.items() if k in accepted})
