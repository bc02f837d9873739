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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
        return {
            "path": self.path,
            "kind": self.kind,
            "detail": self.detail,
            "key": self.key,
            "split": self.split,
        }


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
    splits: dict[str, list[Record]]
    vocab: Vocabulary | None = None
    num_classes: int | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class CaptionFile:
    """The captions read from one file, with the decoding problem if any."""

    captions: tuple[str, ...]
    total: int
    problem: Problem | None = None


def read_caption_file(path: Path, captions_per_image: int | None, key: str | None = None) -> CaptionFile:
    """Read a caption file (one caption per line) as the release does, reporting decoding errors.

    Non-UTF-8 bytes are replaced by U+FFFD (which tokenises as a word break) and reported as a
    ``CAPTION_ENCODING`` problem rather than failing or passing silently.

    Args:
        path: the file.
        captions_per_image: keep at most this many captions (``None``: all).
        key: the image key, for the problem record.

    Returns:
        The kept captions, the number of non-blank captions in the file, and the decoding problem if any.

    Raises:
        OSError: the file cannot be read (the caller records it).
    """
    raw = path.read_bytes()
    problem = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        text = raw.decode("utf-8", errors="replace")
        problem = Problem(
            str(path), CAPTION_ENCODING, f"byte {err.start}: {err.reason}; bad bytes read as word breaks", key
        )
    captions = split_captions(text)
    kept = captions if captions_per_image is None else captions[:captions_per_image]
    return CaptionFile(tuple(kept), len(captions), problem)


def captions_problems(
    file: CaptionFile, path: Path, captions_per_image: int | None, key: str, split: str
) -> list[Problem]:
    """Problems of one image's captions: decoding, empty file, fewer captions than configured."""
    problems = []
    if file.problem is not None:
        problems.append(Problem(file.problem.path, file.problem.kind, file.problem.detail, key, split))
    if not file.captions:
        problems.append(Problem(str(path), EMPTY_CAPTIONS, "no line with a word", key, split))
    elif captions_per_image is not None and file.total < captions_per_image:
        problems.append(
            Problem(str(path), FEW_CAPTIONS, f"{file.total} of {captions_per_image} captions", key, split)
        )
    return problems


def image_problem(path: Path, key: str, split: str) -> Problem | None:
    """Cheap per-image check done while indexing: the file exists and is not empty (decoding comes later)."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return Problem(str(path), MISSING_IMAGE, "", key, split)
    except OSError as err:
        return Problem(str(path), BAD_IMAGE, f"cannot stat: {err.strerror}", key, split)
    if size == 0:
        return Problem(str(path), BAD_IMAGE, "zero-byte file", key, split)
    return None


def read_key_list(path: Path) -> list[str]:
    """Read a text file of keys, one per line (blank lines and ``#`` comments skipped)."""
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line)
    return keys


def require_root(root: str | Path | None, name: str, expected: str, source: str) -> Path:
    """Check that a dataset root exists and is a directory, else raise a teaching :class:`DataError`.

    Args:
        root: the configured ``data.root``.
        name: dataset name, for messages.
        expected: the expected tree, as text.
        source: where the data comes from.
    """
    if root is None or str(root) in ("", "None", "???"):
        raise DataError(
            f"data.root is not set for the {name} dataset. Set data.root=/path/to/{name}.\n{layout_help(expected, source, name)}"
        )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(
            f"data.root={path} is not a directory{' (it does not exist)' if not path.exists() else ''}.\n"
            f"{layout_help(expected, source, name)}"
        )
    return path


def require_files(root: Path, files: list[str], name: str, expected: str, source: str) -> None:
    """Raise a :class:`DataError` listing every one of ``files`` (relative to ``root``) that is missing."""
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        listed = "\n".join(f"  - {root / f}" for f in missing)
        raise DataError(
            f"The {name} dataset at data.root={root} is incomplete; missing:\n{listed}\n{layout_help(expected, source, name)}"
        )


def layout_help(expected: str, source: str, name: str = "<name>") -> str:
    """The expected tree, where the files come from, and the command that checks a dataset."""
    return (
        f"Expected layout:\n{expected.rstrip()}\n{source.strip()}\n"
        f"Check a dataset with: attngan-data check data={name} data.root=DIR"
    )


def load_bad_manifest(path: str | Path | None) -> set[str]:
    """Keys to leave out, from a manifest written by ``attngan-data check`` (``None``: nothing to leave out).

    Raises:
        DataError: the manifest is missing or not a manifest.
    """
    if path is None or str(path) in ("", "None"):
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


def index_split(
    split: str,
    keys: list[str],
    image_path: Callable[[str], Path],
    read_captions: Callable[[str], CaptionFile],
    caption_path: Callable[[str], Path],
    captions_per_image: int | None,
    class_id: Callable[[int, str], int] | None = None,
    bbox: Callable[[str], tuple[float, float, float, float] | None] | None = None,
) -> tuple[list[Record], list[Problem]]:
    """Build the records of one split, recording (not raising) the problems of single samples.

    Args:
        split: ``"train"`` or ``"test"``.
        keys: image keys in split order.
        image_path: key -> image file.
        read_captions: key -> :class:`CaptionFile`; raises ``OSError`` when there is no caption file.
        caption_path: key -> where its captions live (for messages).
        captions_per_image: the configured number of captions (``None``: no minimum).
        class_id: ``(position, key) -> class id``; ``None`` for -1.
        bbox: key -> bounding box or ``None``.

    Returns:
        ``(records, problems)``; samples with a bad problem are not in ``records``.
    """
    records: list[Record] = []
    problems: list[Problem] = []
    for position, key in enumerate(keys):
        found: list[Problem] = []
        path = image_path(key)
        if (problem := image_problem(path, key, split)) is not None:
            found.append(problem)
        captions: tuple[str, ...] = ()
        try:
            file = read_captions(key)
        except FileNotFoundError:
            found.append(
                Problem(str(caption_path(key)), NO_CAPTIONS, "caption file does not exist", key, split)
            )
        except OSError as err:
            found.append(Problem(str(caption_path(key)), NO_CAPTIONS, f"cannot read: {err}", key, split))
        else:
            captions = file.captions
            found.extend(captions_problems(file, caption_path(key), captions_per_image, key, split))
        problems.extend(found)
        if not any(p.is_bad for p in found):
            records.append(
                Record(
                    key=key,
                    image_path=path,
                    captions=captions,
                    class_id=-1 if class_id is None else class_id(position, key),
                    bbox=None if bbox is None else bbox(key),
                    caption_path=caption_path(key),
                )
            )
    return records, problems


def orphan_caption_problems(text_dir: Path, known_keys: set[str], suffix: str = ".txt") -> list[Problem]:
    """Caption files under ``text_dir`` whose key belongs to no image of any split (warnings)."""
    if not text_dir.is_dir():
        return []
    problems = []
    for path in sorted(text_dir.rglob(f"*{suffix}")):
        key = path.relative_to(text_dir).with_suffix("").as_posix()
        if key not in known_keys:
            problems.append(Problem(str(path), ORPHAN_CAPTIONS, "no image of any split has this key", key))
    return problems


def split_keys(keys: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded train/test split of ``keys`` (at least one test key when there are two keys or more)."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"data.test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    num_test = min(len(keys) - 1, max(1, round(test_fraction * len(keys)))) if len(keys) > 1 else 0
    chosen = set(np.random.default_rng(seed).permutation(len(keys))[:num_test].tolist())
    return [k for i, k in enumerate(keys) if i not in chosen], [k for i, k in enumerate(keys) if i in chosen]
