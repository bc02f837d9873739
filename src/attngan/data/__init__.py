"""Datasets (shapes, folder, CUB, COCO): readers, transforms, safe pickles, the DataModule and the dataset checker.

Names are imported lazily: ``attngan.data.pickles`` or the readers do not pull in torch or Lightning.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CaptionDataModule": "attngan.data.datamodule",
    "ShapesDataModule": "attngan.data.datamodule",
    "FolderDataModule": "attngan.data.datamodule",
    "CUBDataModule": "attngan.data.datamodule",
    "COCODataModule": "attngan.data.datamodule",
    "CaptionImageDataset": "attngan.data.dataset",
    "EpochSampler": "attngan.data.loader",
    "collate_captions": "attngan.data.dataset",
    "MultiScaleTransform": "attngan.data.images",
    "bird_crop_box": "attngan.data.images",
    "open_image": "attngan.data.images",
    "safe_load_pickle": "attngan.data.pickles",
    "read_release_captions": "attngan.data.pickles",
    "DatasetIndex": "attngan.data.records",
    "Problem": "attngan.data.records",
    "Record": "attngan.data.records",
    "DatasetReader": "attngan.data.readers",
    "make_reader": "attngan.data.readers",
    "ShapesImage": "attngan.data.shapes",
    "ShapesObject": "attngan.data.shapes",
    "generate_shapes": "attngan.data.shapes",
    "load_ground_truth": "attngan.data.shapes",
    "shapes_class_id": "attngan.data.shapes",
    "check_dataset": "attngan.data.check",
}
__all__ = [
    "COCODataModule",
    "CUBDataModule",
    "CaptionDataModule",
    "CaptionImageDataset",
    "DatasetIndex",
    "DatasetReader",
    "EpochSampler",
    "FolderDataModule",
    "MultiScaleTransform",
    "Problem",
    "Record",
    "ShapesDataModule",
    "ShapesImage",
    "ShapesObject",
    "bird_crop_box",
    "check_dataset",
    "collate_captions",
    "generate_shapes",
    "load_ground_truth",
    "make_reader",
    "open_image",
    "read_release_captions",
    "safe_load_pickle",
    "shapes_class_id",
]

if TYPE_CHECKING:
    from attngan.data.check import check_dataset
    from attngan.data.datamodule import (
        CaptionDataModule,
        COCODataModule,
        CUBDataModule,
        FolderDataModule,
        ShapesDataModule,
    )
    from attngan.data.dataset import CaptionImageDataset, collate_captions
    from attngan.data.images import MultiScaleTransform, bird_crop_box, open_image
    from attngan.data.loader import EpochSampler
    from attngan.data.pickles import read_release_captions, safe_load_pickle
    from attngan.data.readers import DatasetReader, make_reader
    from attngan.data.records import DatasetIndex, Problem, Record
    from attngan.data.shapes import (
        ShapesImage,
        ShapesObject,
        generate_shapes,
        load_ground_truth,
        shapes_class_id,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
