"""Builders of tiny datasets in the layouts users have on disk (nothing is downloaded).

The fixtures that call them live in ``tests/conftest.py``:

- ``shapes_root``: a generated shapes dataset (48 images), built once per session; treat as read-only.
- ``mini_cub`` / ``make_mini_cub``: the authors' CUB layout with genuine Python-2 pickles (5 + 2 images, 3 classes).
- ``mini_coco`` / ``make_mini_coco``: COCO 2014, official JSON layout (3 train + 2 val images) or the authors' one.
- ``mini_folder``: the folder format (6 images, train/test lists, classes).
- ``py2_pickle``: ``py2_pickle(obj) -> bytes``, a protocol-2 pickle as Python 2 writes it (str as BINSTRING).
- ``data_config``: compose ``conf/data/<name>.yaml`` (with a dummy ``model.image_sizes``) into a plain dict.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# ----------------------------------------------------------------------------------- Python-2 pickles


def _py2_write(obj: Any, out: bytearray) -> None:
    """Append the protocol-2 opcodes Python 2's cPickle writes for ``obj``.

    ``str`` and ``bytes`` both become Python-2 byte strings (SHORT_BINSTRING / BINSTRING, latin-1 bytes);
    a numpy array becomes ``numpy.core.multiarray._reconstruct`` + BUILD with its raw bytes, as numpy 1.x on
    Python 2 pickles it.
    """
    if obj is None:
        out += b"N"
    elif isinstance(obj, bool):
        out += b"\x88" if obj else b"\x89"
    elif isinstance(obj, int):
        if 0 <= obj < 256:
            out += b"K" + bytes([obj])
        elif 0 <= obj < 65536:
            out += b"M" + struct.pack("<H", obj)
        else:
            out += b"J" + struct.pack("<i", obj)
    elif isinstance(obj, (str, bytes)):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            out += b"U" + bytes([len(data)]) + data
        else:
            out += b"T" + struct.pack("<i", len(data)) + data
    elif isinstance(obj, list):
        out += b"]"
        if obj:
            out += b"("
            for item in obj:
                _py2_write(item, out)
            out += b"e"
    elif isinstance(obj, tuple):
        out += b"("
        for item in obj:
            _py2_write(item, out)
        out += b"t"
    elif isinstance(obj, dict):
        out += b"}"
        if obj:
            out += b"("
            for key, value in obj.items():
                _py2_write(key, out)
                _py2_write(value, out)
            out += b"u"
    elif isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj, dtype="<i8")
        out += b"cnumpy.core.multiarray\n_reconstruct\n"
        out += b"cnumpy\nndarray\n"
        _py2_write((0,), out)
        _py2_write(b"b", out)
        out += b"\x87R"  # TUPLE3, REDUCE: _reconstruct(ndarray, (0,), 'b')
        out += b"("
        _py2_write(1, out)
        _py2_write(tuple(array.shape), out)
        out += b"cnumpy\ndtype\n"
        _py2_write(("i8", 0, 1), out)
        out += b"R"
        _py2_write((3, "<", None, None, None, -1, -1, 0), out)
        out += b"b"  # BUILD the dtype
        _py2_write(False, out)
        _py2_write(array.tobytes(), out)
        out += b"tb"  # TUPLE, BUILD the array
    else:  # pragma: no cover - test helper
        raise TypeError(f"py2_pickle cannot write {type(obj).__name__}")


def py2_pickle_bytes(obj: Any) -> bytes:
    out = bytearray(b"\x80\x02")
    _py2_write(obj, out)
    out += b"."
    return bytes(out)


# ----------------------------------------------------------------------------------- images and captions


def write_image(
    path: Path, size: tuple[int, int], seed: int, box: tuple[int, int, int, int] | None = None
) -> None:
    """A noisy dark image (JPEG or PNG by suffix); ``box`` (x1, y1, x2, y2) is painted white."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 60, size=(size[1], size[0], 3), dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        pixels[y1:y2, x1:x2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95) if path.suffix == ".jpg" else Image.fromarray(pixels).save(
        path
    )


BIRD_WORDS = [
    "this",
    "bird",
    "has",
    "a",
    "red",
    "crown",
    "and",
    "white",
    "belly",
    "small",
    "beak",
    "long",
    "wings",
]


def bird_captions(seed: int, count: int = 10) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(BIRD_WORDS, size=int(rng.integers(4, 12)))) + "." for _ in range(count)]


# ----------------------------------------------------------------------------------- mini CUB

CUB_CLASSES = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
# (key, class number, split, image size, bounding box as floats)
CUB_IMAGES = [
    (
        "001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111",
        1,
        "train",
        (120, 90),
        (30.0, 20.0, 40.0, 30.0),
    ),
    (
        "001.Black_footed_Albatross/Black_Footed_Albatross_0002_55",
        1,
        "test",
        (100, 100),
        (10.0, 10.0, 50.0, 60.0),
    ),
    ("002.Laysan_Albatross/Laysan_Albatross_0002_1027", 2, "train", (90, 120), (5.0, 30.0, 70.0, 40.0)),
    ("002.Laysan_Albatross/Laysan_Albatross_0003_1033", 2, "train", (110, 80), (60.0, 5.0, 45.0, 70.0)),
    ("003.Sooty_Albatross/Sooty_Albatross_0001_1071", 3, "train", (80, 80), (20.0, 20.0, 30.0, 30.0)),
    ("003.Sooty_Albatross/Sooty_Albatross_0002_796395", 3, "test", (96, 72), (40.0, 10.0, 30.0, 50.0)),
    ("003.Sooty_Albatross/Sooty_Albatross_0003_1078", 3, "train", (70, 90), (12.5, 18.25, 35.0, 41.75)),
]


def _release_crop(bbox: tuple[float, ...], width: int, height: int) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in bbox)
    r = int(max(w, h) * 0.75)
    cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def build_mini_cub(root: Path, captions_pickle: bool = True, class_info: bool = True) -> Path:
    """The authors' CUB tree (7 images) with genuine Python-2 pickles; each bird's crop region is painted white."""
    images_txt, boxes_txt = [], []
    captions: dict[str, list[str]] = {}
    for number, (key, _, _, size, bbox) in enumerate(CUB_IMAGES, start=1):
        write_image(root / "CUB_200_2011" / "images" / f"{key}.jpg", size, number, _release_crop(bbox, *size))
        images_txt.append(f"{number} {key}.jpg")
        boxes_txt.append(f"{number} " + " ".join(f"{v:.1f}" for v in bbox))
        captions[key] = bird_captions(number)
        text = root / "text" / f"{key}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text("\n".join(captions[key]) + "\n")
    (root / "CUB_200_2011" / "images.txt").write_text("\n".join(images_txt) + "\n")
    (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(boxes_txt) + "\n")
    for split in ("train", "test"):
        rows = [row for row in CUB_IMAGES if row[2] == split]
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "filenames.pickle").write_bytes(py2_pickle_bytes([row[0].encode() for row in rows]))
        if class_info:
            (root / split / "class_info.pickle").write_bytes(
                py2_pickle_bytes(np.array([row[1] for row in rows]))
            )
    if captions_pickle:
        write_release_captions(
            root,
            captions,
            [r[0] for r in CUB_IMAGES if r[2] == "train"],
            [r[0] for r in CUB_IMAGES if r[2] == "test"],
        )
    return root


def release_vocabulary(captions: dict[str, list[str]]) -> list[str]:
    """A word order that is deliberately not sorted (reverse first occurrence), as a release file may have."""
    from attngan.text import tokenize

    order: list[str] = []
    for caps in captions.values():
        for caption in caps:
            for word in tokenize(caption):
                if word not in order:
                    order.append(word)
    return order[::-1]


def write_release_captions(
    root: Path, captions: dict[str, list[str]], train: list[str], test: list[str]
) -> list[str]:
    """``captions.pickle`` as the release writes it; returns the words in id order (id 1 first)."""
    from attngan.text import tokenize

    words = release_vocabulary(captions)
    wordtoix = {"<end>": 0, **{w: i for i, w in enumerate(words, start=1)}}
    ixtoword = {i: w for w, i in wordtoix.items()}

    def encode(keys: list[str]) -> list[list[int]]:
        return [[wordtoix[w] for w in tokenize(c)] for k in keys for c in captions[k]]

    data = [encode(train), encode(test), ixtoword, wordtoix]
    (root / "captions.pickle").write_bytes(py2_pickle_bytes(data))
    return words


# ----------------------------------------------------------------------------------- mini COCO

COCO_TRAIN = ["COCO_train2014_000000000009", "COCO_train2014_000000000025", "COCO_train2014_000000000030"]
COCO_VAL = ["COCO_val2014_000000000042", "COCO_val2014_000000000073"]
COCO_WORDS = ["a", "man", "riding", "horse", "on", "the", "beach", "dog", "plate", "of", "food", "red", "bus"]


def coco_captions(seed: int, count: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        " ".join(rng.choice(COCO_WORDS, size=int(rng.integers(5, 20)))).capitalize() + "."
        for _ in range(count)
    ]


def build_mini_coco(root: Path, layout: str = "official") -> Path:
    """COCO 2014 in the official layout (JSON annotations) or the authors' (pickles + text/)."""
    captions = {}
    for number, key in enumerate(COCO_TRAIN + COCO_VAL, start=1):
        captions[key] = coco_captions(100 + number, 6 if number == 1 else 5)  # one image has 6: first 5 kept
        folder = "train2014" if "train" in key else "val2014"
        image_dir = root / (folder if layout == "official" else "images")
        write_image(image_dir / f"{key}.jpg", (64 + 8 * number, 48 + 4 * number), 100 + number)
    if layout == "official":
        for split, keys in (("train2014", COCO_TRAIN), ("val2014", COCO_VAL)):
            images = [{"id": int(k[-12:]), "file_name": f"{k}.jpg", "width": 1, "height": 1} for k in keys]
            notes = [
                {"id": 1000 * int(k[-12:]) + j, "image_id": int(k[-12:]), "caption": c}
                for k in keys
                for j, c in enumerate(captions[k])
            ]
            path = root / "annotations" / f"captions_{split}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"info": {}, "images": images, "annotations": notes}))
    else:
        for key, caps in captions.items():
            (root / "text").mkdir(parents=True, exist_ok=True)
            (root / "text" / f"{key}.txt").write_text("\n".join(caps) + "\n")
        for split, keys in (("train", COCO_TRAIN), ("test", COCO_VAL)):
            (root / split).mkdir(parents=True, exist_ok=True)
            (root / split / "filenames.pickle").write_bytes(py2_pickle_bytes(keys))
        write_release_captions(root, {k: c[:5] for k, c in captions.items()}, COCO_TRAIN, COCO_VAL)
    return root


# ----------------------------------------------------------------------------------- folder and shapes

FOLDER_KEYS = ["cat_01", "cat_02", "dog_01", "dog_02", "bird_01", "bird_02"]


# --------------------------------------------------------------------------- trained tiny models
