"""MS-COCO 2014 captions (``data=coco``): the authors' layout or the official download, detected automatically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from attngan.data.readers.base import DatasetReader
from attngan.data.records import DatasetIndex
from attngan.errors import DataError

COCO_LAYOUT = """\
  Either the authors' layout:
  DATA.ROOT/
    captions.pickle                 (optional) the release vocabulary: keeps the ids of released encoders
    train/filenames.pickle          82,783 keys like COCO_train2014_000000000009
    test/filenames.pickle           40,504 keys (the val2014 images)
    text/<key>.txt                  5 captions per image
    images/<key>.jpg                all images (or train2014/ and val2014/ as extracted)
  or the official download:
  DATA.ROOT/
    annotations/captions_train2014.json
    annotations/captions_val2014.json     (the test split)
    train2014/COCO_train2014_*.jpg
    val2014/COCO_val2014_*.jpg
"""
COCO_SOURCE = """\
Where the files come from: images are train2014.zip and val2014.zip from cocodataset.org (2014 Train/Val
images); captions either from annotations_trainval2014.zip (cocodataset.org, 2014 Train/Val annotations) or from
the AttnGAN authors' preprocessed coco metadata (coco.zip, linked from the README of github.com/taoxugit/AttnGAN).
attngan never downloads data.
"""
_OFFICIAL = {"train": "annotations/captions_train2014.json", "test": "annotations/captions_val2014.json"}
_IMAGE_DIRS = {"train": "train2014", "test": "val2014"}


class COCOReader(DatasetReader):
    """Reader of MS-COCO 2014 in either layout; no crop and no class ids.

    Args:
        root: the ``coco`` directory.
        captions_per_image: the first N captions of each image (5 in the release).
    """

    name = "coco"
    expected_layout = COCO_LAYOUT
    source_help = COCO_SOURCE
    loading_defaults: ClassVar[dict[str, Any]] = {"max_words": 15}  # the released COCO DAMSM config

    def __init__(self, root: str | Path | None = None, captions_per_image: int | None = 5) -> None:
        super().__init__(root, captions_per_image)

    def layout(self, root: Path) -> str:
        """``"authors"`` or ``"official"``, from the files present."""
        if (root / "train" / "filenames.pickle").exists() or (root / "captions.pickle").exists():
            return "authors"
        if not (root / "annotations").is_dir():  # neither layout: the error lists a file of each
            self.require_files(root, ["train/filenames.pickle", _OFFICIAL["train"]])
        return "official"

    def build_index(self) -> DatasetIndex:
        root = self.require_root()
        if self.layout(root) == "authors":
            return self._authors(root)
        return self._official(root)

    def _authors(self, root: Path) -> DatasetIndex:
        self.require_files(root, ["train/filenames.pickle", "test/filenames.pickle", "text"])
        single_dir = (root / "images").is_dir()
        if not single_dir and not all((root / d).is_dir() for d in _IMAGE_DIRS.values()):
            self.require_files(root, ["images"])

        def image_path(key: str) -> Path:
            if single_dir:
                return root / "images" / f"{key}.jpg"
            return root / ("val2014" if "val2014" in key else "train2014") / f"{key}.jpg"

        return self.index_release_layout(root, image_path)

    def _official(self, root: Path) -> DatasetIndex:
        self.require_files(root, [*_OFFICIAL.values(), *_IMAGE_DIRS.values()])
        index = DatasetIndex(self.name, root)
        for split, relpath in _OFFICIAL.items():
            captions = self._read_annotations(root / relpath)
            index.add_split(
                split,
                sorted(captions),
                image_path=lambda k, d=root / _IMAGE_DIRS[split]: d / f"{k}.jpg",
                caption_path=lambda k, p=root / relpath: Path(f"{p}#{k}"),
                captions_per_image=self.captions_per_image,
                read_captions=lambda k, c=captions: ("\n".join(c[k]), ""),
            )
        return index

    @staticmethod
    def _read_annotations(path: Path) -> dict[str, list[str]]:
        """Image key -> its captions (in file order; newlines inside a caption become spaces)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names = {image["id"]: Path(image["file_name"]).stem for image in data["images"]}
            captions: dict[str, list[str]] = {key: [] for key in names.values()}
            for note in data["annotations"]:
                captions[names[note["image_id"]]].append(" ".join(str(note["caption"]).split()))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(
                f"{path} is not a COCO captions file ({type(err).__name__}: {err}). Use the captions_*2014.json of "
                "annotations_trainval2014.zip."
            ) from None
        return captions
