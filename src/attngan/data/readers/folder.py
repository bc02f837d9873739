"""The generic folder format (``data=folder``), which the built-in shapes dataset uses too (:mod:`.shapes`).

::

    root/images/<key>.<jpg|jpeg|png>
    root/captions/<key>.txt        one caption per line
    root/train.txt  root/test.txt  optional: keys, one per line (otherwise a seeded split)
    root/classes.txt               optional: "<key> <class id>" per line
"""

from __future__ import annotations

from pathlib import Path

from attngan.data.readers.base import DatasetReader
from attngan.data.records import IMAGE_SUFFIXES, NO_CLASS, DatasetIndex, Problem, split_keys
from attngan.errors import DataError

FOLDER_LAYOUT = """\
  DATA.ROOT/
    images/<key>.jpg|.png      one image per key (sub-folders allowed: images/a/b.jpg has key a/b)
    captions/<key>.txt         the captions of that image, one per line
    train.txt, test.txt        (optional) the keys of each split, one per line; otherwise a seeded split
    classes.txt                (optional) "<key> <class id>" per line
"""
FOLDER_SOURCE = (
    "The folder format holds your own images and captions; `attngan-data shapes root=DIR` writes an example."
)


class FolderReader(DatasetReader):
    """Reader of the folder format.

    Args:
        root: the dataset directory.
        captions_per_image: keep the first N captions of each image (``None``: all lines).
        test_fraction: share of test images when there is no ``train.txt``/``test.txt``.
        split_seed: seed of that split (independent of the training seed, so the test set stays fixed).
    """

    name = "folder"
    expected_layout = FOLDER_LAYOUT
    source_help = FOLDER_SOURCE

    def __init__(
        self,
        root: str | Path | None = None,
        captions_per_image: int | None = None,
        test_fraction: float = 0.1,
        split_seed: int = 0,
    ) -> None:
        super().__init__(root, captions_per_image)
        self.test_fraction = self.option("test_fraction", test_fraction, float)
        self.split_seed = self.option("split_seed", split_seed, int)

    def build_index(self) -> DatasetIndex:
        root = self.require_root()
        self.require_files(root, ["images", "captions"])
        images = self._image_files(root / "images")
        # a listed key without an image is named with the suffix most of the images have (.png, .jpg)
        suffixes = [p.suffix.lower() for p in images.values()]
        usual = max(sorted(set(suffixes)), key=suffixes.count) if suffixes else ".jpg"
        splits = self._split(root, sorted(images))
        classes = self._classes(root / "classes.txt")
        index = DatasetIndex(self.name, root)
        for split, keys in splits.items():
            index.add_split(
                split,
                keys,
                image_path=lambda k: images.get(k, root / "images" / f"{k}{usual}"),
                caption_path=lambda k: root / "captions" / f"{k}.txt",
                captions_per_image=self.captions_per_image,
                class_id=None if classes is None else (lambda _, k: classes.get(k, -1)),
            )
            if classes is not None:
                index.problems += [
                    Problem(str(root / "classes.txt"), NO_CLASS, "key not listed; class id -1", k, split)
                    for k in keys
                    if k not in classes
                ]
        index.add_orphan_captions(
            root / "captions", set(images) | {k for keys in splits.values() for k in keys}
        )
        if classes is not None:
            index.num_classes = max(classes.values(), default=-1) + 1
        return index

    def _image_files(self, directory: Path) -> dict[str, Path]:
        images: dict[str, Path] = {}
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            key = path.relative_to(directory).with_suffix("").as_posix()
            if key in images:
                raise DataError(
                    f"Two images have the key {key!r}: {images[key]} and {path}. Keep one image per key."
                )
            images[key] = path
        return images

    def _split(self, root: Path, keys: list[str]) -> dict[str, list[str]]:
        train_file, test_file = root / "train.txt", root / "test.txt"
        if not train_file.is_file() and not test_file.is_file():
            train, test = split_keys(keys, self.test_fraction, self.split_seed)
            return {"train": train, "test": test}
        listed = {
            split: [key for _, key in _lines(file)]
            for split, file in (("train", train_file), ("test", test_file))
            if file.is_file()
        }
        if len(listed) == 1:
            ((given, given_keys),) = listed.items()
            chosen = set(given_keys)
            listed["test" if given == "train" else "train"] = [k for k in keys if k not in chosen]
        both = set(listed["train"]) & set(listed["test"])
        if both:
            raise DataError(
                f"{len(both)} keys are in both train.txt and test.txt (e.g. {sorted(both)[0]!r}) in {root}. "
                "A key belongs to one split."
            )
        return {"train": listed["train"], "test": listed["test"]}

    @staticmethod
    def _classes(path: Path) -> dict[str, int] | None:
        if not path.is_file():
            return None
        classes = {}
        for number, line in _lines(path):
            parts = line.rsplit(maxsplit=1)
            try:
                key, value = parts[0], int(parts[1])
                if value < 0:
                    raise ValueError
            except (IndexError, ValueError):
                raise DataError(
                    f"{path}:{number}: expected '<key> <class id>' with a non-negative integer id, found {line!r}."
                ) from None
            classes[key] = value
        return classes


def _lines(path: Path) -> list[tuple[int, str]]:
    """The stripped lines of a text file with their numbers; blank lines and ``#`` comments skipped."""
    lines = enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    return [
        (number, line.strip()) for number, line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
