"""CUB-200-2011 birds in the layout of the authors' release (``data=cub``)."""

from __future__ import annotations

from pathlib import Path

from attngan.data.pickles import read_class_info, read_filenames, read_release_captions
from attngan.data.readers.base import DatasetReader
from attngan.data.records import (
    NO_BBOX,
    SPLITS,
    DatasetIndex,
    Problem,
    index_split,
    orphan_caption_problems,
    read_caption_file,
    require_files,
)
from attngan.errors import DataError
from attngan.text.vocabulary import Vocabulary

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
        require_files(root, needed, self.name, self.expected_layout, self.source_help)

        vocab = None
        if (root / "captions.pickle").is_file():
            _, _, ixtoword, wordtoix = read_release_captions(root / "captions.pickle")
            vocab = Vocabulary.from_release(ixtoword, wordtoix)
        boxes = read_bounding_boxes(root) if self.crop_to_bbox else {}

        index = DatasetIndex(self.name, root, {}, vocab=vocab)
        all_keys: set[str] = set()
        class_values: list[int] = []
        for split in SPLITS:
            keys = read_filenames(root / split / "filenames.pickle")
            all_keys.update(keys)
            classes = self._class_ids(root / split / "class_info.pickle", len(keys))
            class_values += classes or []
            records, problems = index_split(
                split,
                keys,
                image_path=lambda k: root / "CUB_200_2011" / "images" / f"{k}.jpg",
                read_captions=lambda k: read_caption_file(
                    root / "text" / f"{k}.txt", self.captions_per_image, k
                ),
                caption_path=lambda k: root / "text" / f"{k}.txt",
                captions_per_image=self.captions_per_image,
                class_id=None if classes is None else (lambda i, _, c=classes: c[i]),
                bbox=boxes.get if self.crop_to_bbox else None,
            )
            index.splits[split] = records
            index.problems += problems
            if self.crop_to_bbox:
                index.problems += [
                    Problem(
                        str(root / "CUB_200_2011" / "bounding_boxes.txt"),
                        NO_BBOX,
                        "image not cropped",
                        r.key,
                        split,
                    )
                    for r in records
                    if r.bbox is None
                ]
        index.problems += orphan_caption_problems(root / "text", all_keys)
        index.num_classes = max(class_values) + 1 if class_values else None
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
