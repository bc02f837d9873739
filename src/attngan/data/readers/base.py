"""The abstract dataset reader: a directory in, a :class:`~attngan.data.records.DatasetIndex` out.

No torch or Lightning here, so that ``attngan-data check`` stays light.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from attngan.data.records import DatasetIndex, require_root
from attngan.errors import ConfigError

if TYPE_CHECKING:
    from attngan.data.dataset import CaptionImageDataset
    from attngan.text import Vocabulary


class DatasetReader(ABC):
    """Turns a dataset directory into a :class:`~attngan.data.records.DatasetIndex`.

    Subclasses set ``name``, ``expected_layout`` (the tree, as text) and ``source_help`` (where the files
    come from), which every error about a missing or incomplete dataset quotes; ``loading_defaults`` holds
    the data-module settings this dataset needs unless the config says otherwise (e.g. no flips for shapes,
    whose captions say "on the left"). The constructor's arguments are the reader's config options.

    Args:
        root: the dataset directory (``data.root``).
        captions_per_image: keep the first N captions of each image (``None``: all).
    """

    name: ClassVar[str]
    expected_layout: ClassVar[str]
    source_help: ClassVar[str]
    loading_defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, root: str | Path | None = None, captions_per_image: int | None = None) -> None:
        self.root = root
        self.captions_per_image = self.option("captions_per_image", captions_per_image, int, optional=True)

    @classmethod
    def options(cls) -> list[str]:
        """The config options this reader takes (its constructor's arguments), sorted."""
        return sorted(set(inspect.signature(cls.__init__).parameters) - {"self"})

    def option(self, key: str, value: Any, kind: type, optional: bool = False) -> Any:
        """``value`` converted to ``kind``, or a :class:`ConfigError` naming ``data.<key>`` and the type.

        Args:
            key: the option's name, for the message.
            value: what the config holds.
            kind: ``int``, ``float`` or ``bool``.
            optional: ``None`` (and ``"None"``/``"null"``) stays ``None``.
        """
        if optional and (value is None or value in ("None", "null")):
            return None
        if kind is bool and isinstance(value, bool):
            return value
        try:
            if kind is bool or isinstance(value, bool):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"data.{key}={value!r} is not {'an' if kind is int else 'a'} {kind.__name__} (the {self.name} "
                f"dataset's option {key} expects one{', or null' if optional else ''})."
            ) from None

    def require_root(self) -> Path:
        """``self.root`` as a ``Path``, or a :class:`DataError` showing the expected layout."""
        return require_root(self.root, self.name, self.expected_layout, self.source_help)

    def make_dataset(self, vocab: Vocabulary, **kwargs: Any) -> CaptionImageDataset:
        """The dataset of one split, from :class:`~attngan.data.dataset.CaptionImageDataset` arguments (``split``,
        ``train``, ...); a reader may serve a split its own way (shapes: ``data.fresh_images``). ``vocab`` encodes
        captions made on the fly."""
        from attngan.data.dataset import CaptionImageDataset

        return CaptionImageDataset(**kwargs)

    def prepare(self) -> None:  # noqa: B027 (a hook: most readers have nothing to prepare)
        """Make the dataset ready on disk (rank 0, before :meth:`build_index`); nothing by default.

        Readers never download: only generated datasets (shapes) have anything to do here.
        """

    @abstractmethod
    def build_index(self) -> DatasetIndex:
        """Read the dataset's metadata and caption files (images are only checked to exist here)."""
