"""CUB-200-2011 birds in the layout of the authors' release (``data=cub``)."""

from __future__ import annotations

from pathlib import Path

from attngan.data.pickles import read_class_info
from attngan.data.readers.base import DatasetReader
from attngan.data.records import NO_BBOX, DatasetIndex, Problem
from attngan.errors import DataError

CUB_LAYOUT = """\
  DATA.ROOT/                              (the authors' "birds" folder)
    captions.pickle                       (optional) the release vocabulary: keeps the ids of released encoders
    train/filenames.pickle                8,855 keys like 002.Laysan_Albatross/Laysan_Albatross_0002_1027
    train/class_info.pickle               (optional) the class id of every training image
    test/filenames.pickle                 2,933 keys
    test/class_info.pickle                (optional)
    text/<key>.txt                        10 captions per image, one per line
    CUB_200_2011/images/<key>.jpg
    CUB_200_2011/images.txt               "<id> <key>.jpg"
    CUB_200_2011/bounding_boxes.txt       "<id> <x> <y> <width> <height>"
"""
CUB_SOURCE = """\
Where the files come from: the images, images.txt and bounding_boxes.txt are in CUB_200_2011.tgz, the
Caltech-UCSD Birds-200-2011 dataset (Wah et al. 2011), extracted into DATA.ROOT. captions.pickle, train/, test/ and
text/ are the AttnGAN authors' preprocessed birds metadata (birds.zip, linked from the README of
github.com/taoxugit/AttnGAN; the captions are Reed et al. 2016's). attngan never downloads data.
"""


def _read_table(path: Path, columns: int) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != columns:
            raise DataError(
                f"{path}:{number}: expected {columns} columns separated by spaces, found {line!r}."
            )
        rows[parts[0]] = parts[1:]
    return rows


def read_bounding_boxes(root: Path) -> dict[str, tuple[float, float, float, float]]:
    """Key -> ``(x, y, w, h)`` from ``CUB_200_2011/images.txt`` and ``bounding_boxes.txt`` (floats allowed)."""
    images_txt = root / "CUB_200_2011" / "images.txt"
    boxes_txt = root / "CUB_200_2011" / "bounding_boxes.txt"
    names = _read_table(images_txt, 2)
    boxes = _read_table(boxes_txt, 5)
    result = {}
    for image_id, (relpath,) in names.items():
        if image_id not in boxes:
            continue
        try:
            x, y, w, h = (float(v) for v in boxes[image_id])
        except ValueError:
            raise DataError(
                f"{boxes_txt}: the box of image id {image_id} is not four numbers: {boxes[image_id]}."
            ) from None
        result[str(Path(relpath).with_suffix("").as_posix())] = (x, y, w, h)
    return result


class CUBReader(DatasetReader):
    """Reader of the authors' CUB layout.

    Args:
        root: the ``birds`` directory.
        captions_per_image: the first N captions of each image (10 in the release).
        crop_to_bbox: cut every image around its bird as the release does.
    """

    name = "cub"
    expected_layout = CUB_LAYOUT
    source_help = CUB_SOURCE

    def __init__(
        self, root: str | Path | None = None, captions_per_image: int | None = 10, crop_to_bbox: bool = True
    ) -> None:
        super().__init__(root, captions_per_image)
        self.crop_to_bbox = self.option("crop_to_bbox", crop_to_bbox, bool)

    def build_index(self) -> DatasetIndex:
        root = self.require_root()
        needed = ["train/filenames.pickle", "test/filenames.pickle", "text", "CUB_200_2011/images"]
        if self.crop_to_bbox:
            needed += ["CUB_200_2011/images.txt", "CUB_200_2011/bounding_boxes.txt"]
        self.require_files(root, needed)

        boxes = read_bounding_boxes(root) if self.crop_to_bbox else {}
        index = self.index_release_layout(
            root,
            lambda k: root / "CUB_200_2011" / "images" / f"{k}.jpg",
            lambda split, count: self._class_ids(root / split / "class_info.pickle", count),
            boxes.get if self.crop_to_bbox else None,
        )
        boxes_txt = str(root / "CUB_200_2011" / "bounding_boxes.txt")
        index.problems += [
            Problem(boxes_txt, NO_BBOX, "image not cropped", r.key, split)
            for split, records in index.splits.items()
            for r in records
            if self.crop_to_bbox and r.bbox is None
        ]
        return index

    @staticmethod
    def _class_ids(path: Path, count: int) -> list[int] | None:
        if not path.is_file():
            return None
        classes = read_class_info(path)
        if len(classes) != count:
            raise DataError(
                f"{path} holds {len(classes)} class ids but {path.parent / 'filenames.pickle'} lists {count} images. "
                "The two files come from different downloads; use the pair from the same birds.zip."
            )
        return classes
