"""Reading images (bad files reported, never hidden) and the release's image transforms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from attngan.errors import BadSampleError

if TYPE_CHECKING:
    import torch

RELEASE_RESIZE_RATIO = 76 / 64  # the release resizes to size * 76 / 64 before the random crop


def open_image(path: str | Path, bbox: Sequence[float] | None = None) -> Image.Image:
    """Decode an image fully as RGB, optionally cut around a bird's bounding box.

    Args:
        path: the image file.
        bbox: ``(x, y, width, height)`` of the object (CUB); the image is cut with :func:`bird_crop_box`.

    Raises:
        BadSampleError: the file is missing, empty, truncated, or not an image.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()  # decode everything now, so a truncated file fails here
            rgb = image.convert("RGB")
    except FileNotFoundError:
        raise BadSampleError(str(path), "image file does not exist") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        problem = (
            "zero-byte file"
            if path.is_file() and path.stat().st_size == 0
            else f"cannot decode image ({err})"
        )
        raise BadSampleError(str(path), problem) from None
    if bbox is not None:
        rgb = rgb.crop(bird_crop_box(bbox, *rgb.size))
    return rgb


def bird_crop_box(bbox: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """The release's crop around a CUB bounding box: a square of side ~1.5 x max(w, h), clipped to the image.

    Follows the release's integer arithmetic exactly: the box values are truncated to integers (the release
    reads ``bounding_boxes.txt`` with ``astype(int)``), ``r = int(max(w, h) * 0.75)``, the centre is
    ``int((2 * x + w) / 2)``, and the square ``[c - r, c + r)`` is clipped to the image.

    Args:
        bbox: ``(x, y, w, h)``, top-left corner and size in pixels (floats allowed).
        width, height: the image size.

    Returns:
        ``(x1, y1, x2, y2)`` for ``PIL.Image.crop``.
    """
    x, y, w, h = (int(v) for v in bbox)
    r = int(max(w, h) * 0.75)
    center_x = int((2 * x + w) / 2)
    center_y = int((2 * y + h) / 2)
    return max(0, center_x - r), max(0, center_y - r), min(width, center_x + r), min(height, center_y + r)


def _resize_shorter(image: Image.Image, size: int) -> Image.Image:
    # torchvision's Resize(int) rule: shorter side -> size, longer side -> int(size * long / short).
    width, height = image.size
    if width <= height:
        new = (size, int(size * height / width))
    else:
        new = (int(size * width / height), size)
    return image if new == image.size else image.resize(new, Image.BILINEAR)


def _to_tensor(image: Image.Image) -> torch.Tensor:
    """``(3, H, W)`` in [-1, 1]."""
    import torch

    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class MultiScaleTransform:
    """PIL image -> one tensor per size in ``image_sizes``, values in [-1, 1].

    Training (an ``rng`` is given): resize the shorter side to ``int(max_size * resize_ratio)``, random crop
    ``max_size``, random horizontal flip; evaluation (no ``rng``): the same resize and a centre crop. Smaller
    sizes are resized (bilinear) from the crop, as in the release.

    Args:
        image_sizes: increasing square sizes, e.g. ``[64, 128, 256]``.
        resize_ratio: resize before cropping (the release's 76/64; 1.0 disables the crop jitter).
        random_flip: flip horizontally with probability 1/2 in training (off for captions that say left/right).
    """

    def __init__(
        self, image_sizes: Sequence[int], resize_ratio: float = RELEASE_RESIZE_RATIO, random_flip: bool = True
    ):
        self.image_sizes = sizes = [int(s) for s in image_sizes]
        if not sizes or sizes != sorted(set(sizes)) or sizes[0] < 1:
            raise ValueError(
                f"image_sizes must be positive and strictly increasing, got {list(image_sizes)}."
            )
        if resize_ratio < 1.0:
            raise ValueError(f"resize_ratio must be at least 1.0, got {resize_ratio}.")
        self.resize_ratio = float(resize_ratio)
        self.random_flip = bool(random_flip)

    def __call__(self, image: Image.Image, rng: np.random.Generator | None = None) -> list[torch.Tensor]:
        """Transform one image; ``rng`` selects training (random) or evaluation (deterministic) behaviour."""
        size = self.image_sizes[-1]
        image = _resize_shorter(image, int(size * self.resize_ratio))
        width, height = image.size
        if rng is None:
            left, top = round((width - size) / 2.0), round((height - size) / 2.0)
        else:
            left, top = int(rng.integers(width - size + 1)), int(rng.integers(height - size + 1))
        image = image.crop((left, top, left + size, top + size))
        if rng is not None and self.random_flip and rng.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        return [
            _to_tensor(image if s == size else image.resize((s, s), Image.BILINEAR)) for s in self.image_sizes
        ]
