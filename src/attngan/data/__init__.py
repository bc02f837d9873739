"""Datasets (shapes, folder, CUB, COCO): readers, transforms, safe pickles, the DataModule and the dataset checker.

Names are imported on first use (``attngan.data.CaptionDataModule`` loads Lightning, ``attngan.data.readers``
and ``attngan.data.pickles`` do not pull in torch or Lightning); ``_EXPORTS`` is the one list of them.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_EXPORTS = {
    "CaptionDataModule": "attngan.data.datamodule",
    "FolderDataModule": "attngan.data.datamodule",
    "ShapesDataModule": "attngan.data.datamodule",
    "CaptionImageDataset": "attngan.data.dataset",
    "collate_captions": "attngan.data.dataset",
    "EpochSampler": "attngan.data.loader",
    "MultiScaleTransform": "attngan.data.images",
    "bird_crop_box": "attngan.data.images",
    "open_image": "attngan.data.images",
    "read_release_captions": "attngan.data.pickles",
    "safe_load_pickle": "attngan.data.pickles",
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
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
