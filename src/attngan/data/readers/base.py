"""The abstract dataset reader: a directory in, a :class:`~attngan.data.records.DatasetIndex` out.

No torch or Lightning here, so that ``attngan-data check`` stays light.
"""

from __future__ import annotations

import contextlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from attngan.data.pickles import read_filenames, read_release_captions
from attngan.data.records import SPLITS, DatasetIndex, is_unset
from attngan.errors import ConfigError, DataError
from attngan.text.vocabulary import Vocabulary

if TYPE_CHECKING:
    from attngan.data.dataset import CaptionImageDataset


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
        if isinstance(value, bool) == (kind is bool):  # a bool is never a number, nor a number a bool
            with contextlib.suppress(TypeError, ValueError):
                return kind(value)
        raise ConfigError(
            f"data.{key}={value!r} is not {'an' if kind is int else 'a'} {kind.__name__} (the {self.name} "
            f"dataset's option {key} expects one{', or null' if optional else ''})."
        )

    def require_root(self) -> Path:
        """``self.root`` as a ``Path``, or a :class:`DataError` showing the expected layout."""
        if is_unset(self.root) or str(self.root) == "???":
            raise DataError(
                f"data.root is not set for the {self.name} dataset. Set data.root=/path/to/{self.name}.\n"
                f"{self.layout_help()}"
            )
        path = Path(str(self.root)).expanduser()
        if not path.is_dir():
            raise DataError(
                f"data.root={path} is not a directory{' (it does not exist)' if not path.exists() else ''}.\n"
                f"{self.layout_help()}"
            )
        return path

    def require_files(self, root: Path, files: list[str]) -> None:
        """Raise a :class:`DataError` listing every one of ``files`` (relative to ``root``) that is missing."""
        missing = "\n".join(f"  - {root / f}" for f in files if not (root / f).exists())
        if missing:
            raise DataError(
                f"The {self.name} dataset at data.root={root} is incomplete; missing:\n{missing}\n"
                f"{self.layout_help()}"
            )

    def layout_help(self) -> str:
        """The expected tree, where the files come from, and the command that checks a dataset."""
        return (
            f"Expected layout:\n{self.expected_layout.rstrip()}\n{self.source_help.strip()}\n"
            f"Check a dataset with: attngan-data check data={self.name} data.root=DIR"
        )

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

    def index_release_layout(
        self,
        root: Path,
        image_path: Callable[[str], Path],
        class_ids: Callable[[str, int], list[int] | None] | None = None,
        bbox: Callable[[str], tuple[float, float, float, float] | None] | None = None,
    ) -> DatasetIndex:
        """The index of the authors' layout (CUB, COCO): ``captions.pickle`` (optional, the vocabulary),
        ``<split>/filenames.pickle`` and ``text/<key>.txt``.

        Args:
            root: the dataset root.
            image_path: key -> image file.
            class_ids: ``(split, number of keys) -> class id per key`` or ``None`` (the split has no classes).
            bbox: key -> bounding box or ``None``.
        """
        index = DatasetIndex(self.name, root)
        if (root / "captions.pickle").is_file():
            index.vocab = Vocabulary.from_release(*read_release_captions(root / "captions.pickle")[2:])
        all_keys: set[str] = set()
        class_values: list[int] = []
        for split in SPLITS:
            keys = read_filenames(root / split / "filenames.pickle")
            all_keys.update(keys)
            classes = None if class_ids is None else class_ids(split, len(keys))
            class_values += classes or []
            index.add_split(
                split,
                keys,
                image_path,
                lambda k: root / "text" / f"{k}.txt",
                self.captions_per_image,
                class_id=None if classes is None else (lambda i, _, c=classes: c[i]),
                bbox=bbox,
            )
        index.add_orphan_captions(root / "text", all_keys)
        index.num_classes = max(class_values) + 1 if class_values else None
        return index
