"""What every dataset reader produces: image records, problems found on the way, and shared helpers.

A reader (shapes, folder, CUB, COCO) turns a directory into a :class:`DatasetIndex` (records of the train and
test splits, the release vocabulary if the dataset ships one, and every problem it met). Readers never raise
for a single bad sample: they record a :class:`Problem`, and the caller (the DataModule, or ``attngan-data
check``) applies the ``on_bad_sample`` policy. They do raise :class:`~attngan.errors.DataError` when the
dataset as a whole is unusable (missing root, missing split file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attngan.errors import DataError
from attngan.text.tokenizer import split_captions
from attngan.text.vocabulary import Vocabulary

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

# Problem kinds. "Bad" ones make a sample unusable; the others are warnings.
MISSING_IMAGE = "missing image"
BAD_IMAGE = "unreadable image"
NO_CAPTIONS = "image without captions"
EMPTY_CAPTIONS = "empty captions"
FEW_CAPTIONS = "fewer captions than configured"
ORPHAN_CAPTIONS = "captions without image"
CAPTION_ENCODING = "captions not valid UTF-8"
UNKNOWN_WORDS = "words not in the vocabulary"
NO_CLASS = "no class id"
NO_BBOX = "no bounding box"
BAD_KINDS = frozenset({MISSING_IMAGE, BAD_IMAGE, NO_CAPTIONS, EMPTY_CAPTIONS})


@dataclass(frozen=True)
class Record:
    """One image of a split and its captions.

    Attributes:
        key: the image key (file name without suffix, possibly with sub-folders).
        image_path: the image file.
        captions: the caption strings kept (blank lines skipped, at most ``captions_per_image``).
        class_id: the class of the image, -1 when the dataset has none.
        bbox: ``(x, y, w, h)`` object box; the image is cut around it before any transform (CUB birds).
        caption_path: the file the captions came from, for messages.
    """

    key: str
    image_path: Path
    captions: tuple[str, ...]
    class_id: int = -1
    bbox: tuple[float, float, float, float] | None = None
    caption_path: Path | None = None


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file of a dataset.

    Attributes:
        path: the file concerned.
        kind: one of the kinds above (``MISSING_IMAGE`` ...).
        detail: what exactly is wrong.
        key: the image key, when there is one.
        split: ``"train"`` / ``"test"``, when known.
    """

    path: str
    kind: str
    detail: str = ""
    key: str | None = None
    split: str | None = None

    @property
    def is_bad(self) -> bool:
        """True when the sample cannot be used (as opposed to a warning)."""
        return self.kind in BAD_KINDS

    def __str__(self) -> str:
        where = f" [{self.split}]" if self.split else ""
        return f"{self.path}{where}: {self.kind}" + (f" ({self.detail})" if self.detail else "")

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


def read_text(path: Path) -> tuple[str, str]:
    """A caption file's text, and what was wrong with its encoding (``""``: nothing).

    Non-UTF-8 bytes are replaced by U+FFFD (which tokenises as a word break) and reported as a
    ``CAPTION_ENCODING`` problem rather than failing or passing silently.

    Raises:
        OSError: the file cannot be read (the caller records it).
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as err:
        detail = f"byte {err.start}: {err.reason}; bad bytes read as word breaks"
        return raw.decode("utf-8", errors="replace"), detail


@dataclass
class DatasetIndex:
    """Everything a reader found: records per split, the release vocabulary, class info, problems.

    Attributes:
        name: dataset name (``"cub"``, ``"coco"``, ``"folder"``, ``"shapes"``).
        root: the dataset root.
        splits: ``{"train": [...], "test": [...]}`` records, bad samples already left out.
        vocab: the vocabulary the dataset ships (``captions.pickle``), or ``None`` to build one from captions.
        num_classes: class ids lie in ``[0, num_classes)``; ``None`` when the dataset has no classes.
        problems: every problem found, bad samples (already left out of ``splits``) and warnings.
    """

    name: str
    root: Path
    splits: dict[str, list[Record]] = field(default_factory=dict)
    vocab: Vocabulary | None = None
    num_classes: int | None = None
    problems: list[Problem] = field(default_factory=list)

    def add_split(
        self,
        split: str,
        keys: Iterable[str],
        image_path: Callable[[str], Path],
        caption_path: Callable[[str], Path],
        captions_per_image: int | None,
        read_captions: Callable[[str], tuple[str, str]] | None = None,
        class_id: Callable[[int, str], int] | None = None,
        bbox: Callable[[str], tuple[float, float, float, float] | None] | None = None,
    ) -> list[Record]:
        """Index one split, recording (not raising) the problems of single samples.

        Images are only checked to exist and not to be empty here (decoding comes later).

        Args:
            split: ``"train"`` or ``"test"``.
            keys: image keys in split order.
            image_path: key -> image file.
            caption_path: key -> where its captions live (for messages).
            captions_per_image: keep the first N captions, and warn about fewer (``None``: all, no minimum).
            read_captions: key -> ``(text, encoding problem)`` (:func:`read_text` of ``caption_path`` by
                default); raises ``OSError`` when there is no caption file.
            class_id: ``(position, key) -> class id``; ``None`` for -1.
            bbox: key -> bounding box or ``None``.

        Returns:
            The split's records (also in ``splits``); samples with a bad problem are left out.
        """
        read_captions = read_captions or (lambda key: read_text(caption_path(key)))
        records = self.splits[split] = []
        for position, key in enumerate(keys):
            path, text_path = image_path(key), str(caption_path(key))
            found: list[Problem] = []
            try:
                if os.stat(path).st_size == 0:
                    found.append(Problem(str(path), BAD_IMAGE, "zero-byte file", key, split))
            except FileNotFoundError:
                found.append(Problem(str(path), MISSING_IMAGE, "", key, split))
            except OSError as err:
                found.append(Problem(str(path), BAD_IMAGE, f"cannot stat: {err.strerror}", key, split))
            captions: list[str] = []
            try:
                text, encoding = read_captions(key)
            except FileNotFoundError:
                found.append(Problem(text_path, NO_CAPTIONS, "caption file does not exist", key, split))
            except OSError as err:
                found.append(Problem(text_path, NO_CAPTIONS, f"cannot read: {err}", key, split))
            else:
                captions = split_captions(text)
                if encoding:
                    found.append(Problem(text_path, CAPTION_ENCODING, encoding, key, split))
                if not captions:
                    found.append(Problem(text_path, EMPTY_CAPTIONS, "no line with a word", key, split))
                elif captions_per_image is not None and len(captions) < captions_per_image:
                    detail = f"{len(captions)} of {captions_per_image} captions"
                    found.append(Problem(text_path, FEW_CAPTIONS, detail, key, split))
            self.problems += found
            if not any(p.is_bad for p in found):
                records.append(
                    Record(
                        key,
                        path,
                        tuple(captions[:captions_per_image]),
                        class_id=-1 if class_id is None else class_id(position, key),
                        bbox=None if bbox is None else bbox(key),
                        caption_path=Path(text_path),
                    )
                )
        return records

    def add_orphan_captions(self, text_dir: Path, known_keys: set[str]) -> None:
        """Warn about the caption files under ``text_dir`` whose key belongs to no image of any split."""
        for path in sorted(text_dir.rglob("*.txt")) if text_dir.is_dir() else []:
            key = path.relative_to(text_dir).with_suffix("").as_posix()
            if key not in known_keys:
                self.problems.append(
                    Problem(str(path), ORPHAN_CAPTIONS, "no image of any split has this key", key)
                )


def is_unset(value: Any) -> bool:
    """Whether a config value means "not set": ``None``, ``""``, ``"None"`` or ``"null"``."""
    return value is None or str(value) in ("", "None", "null")


def load_bad_manifest(path: str | Path | None) -> set[str]:
    """Keys to leave out, from a manifest written by ``attngan-data check`` (``None``: nothing to leave out).

    Raises:
        DataError: the manifest is missing or not a manifest.
    """
    if is_unset(path):
        return set()
    manifest = Path(path)
    try:
        data = json.loads(manifest.read_text())
        return {entry["key"] for entry in data["bad_samples"] if entry.get("key")}
    except FileNotFoundError:
        raise DataError(
            f"data.bad_manifest={manifest} does not exist. Write it with `attngan-data check data=... "
            "data.root=... manifest=FILE`, or unset data.bad_manifest."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"data.bad_manifest={manifest} is not a manifest written by attngan-data check ({err})."
        ) from None


def split_keys(keys: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded train/test split of ``keys`` (at least one test key when there are two keys or more)."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"data.test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    num_test = min(len(keys) - 1, max(1, round(test_fraction * len(keys)))) if len(keys) > 1 else 0
    chosen = set(np.random.default_rng(seed).permutation(len(keys))[:num_test].tolist())
    return [k for i, k in enumerate(keys) if i not in chosen], [k for i, k in enumerate(keys) if i in chosen]
