"""Pixel morphology for the shapes oracle: palette labels, despeckling, closing, coverage, box measures.

Everything here works on batches of boolean masks or palette labels; none of it knows captions. The shapes
world (:mod:`attngan.data.shapes.spec`) has a few far-apart colours on a dark background, so "which colour
is this pixel" is a nearest-palette lookup and an object's outline is a cleaned-up mask of its colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from attngan.data.shapes.spec import BACKGROUND_RGB, COLOURS, SIZES

# Fill ratio (area / bounding box) thresholds between triangle (0.5), circle (pi/4) and square (1).
TRIANGLE_CIRCLE_FILL = 0.64
CIRCLE_SQUARE_FILL = 0.89


def to_rgb255(images: Tensor) -> Tensor:
    """``(B, 3, H, W)`` float in [-1, 1] or uint8 -> float RGB on the 0-255 scale, same shape.

    Raises:
        ValueError: ``images`` is not ``(B, 3, H, W)``.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"expected images of shape (B, 3, H, W) (float in [-1, 1] or uint8), got {tuple(images.shape)}"
        )
    if images.dtype == torch.uint8:
        return images.float()
    return (images.detach().float().clamp(-1, 1) + 1) * 127.5


def nearest_palette(images: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest palette entry of every pixel and its squared RGB distance.

    Args:
        images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.

    Returns:
        ``(labels, squared_distance)``, both ``(B, H, W)``: labels index ``list(COLOURS)``, ``len(COLOURS)``
        is the background.
    """
    rgb = to_rgb255(images)  # (B, 3, H, W)
    palette = torch.tensor([*COLOURS.values(), BACKGROUND_RGB], dtype=torch.float32, device=rgb.device)
    # |x - p|^2 = |x|^2 - 2 x.p + |p|^2, without materialising (B, K+1, 3, H, W)
    squared = (
        rgb.square().sum(dim=1, keepdim=True)
        - 2 * torch.einsum("bchw,kc->bkhw", rgb, palette)
        + palette.square().sum(dim=1)[None, :, None, None]
    )  # (B, K+1, H, W)
    nearest_squared, labels = squared.min(dim=1)
    return labels, nearest_squared


def colour_labels(images: Tensor, colour_threshold: float = 60.0) -> Tensor:
    """Label every pixel with its palette colour.

    Args:
        images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.
        colour_threshold: largest RGB distance (0-255 scale) to the nearest palette colour.

    Returns:
        ``(B, H, W)`` long: index into ``list(COLOURS)``, ``len(COLOURS)`` for background, ``-1`` for none.
    """
    labels, nearest_squared = nearest_palette(images)
    return labels.masked_fill(nearest_squared > colour_threshold**2, -1)


def despeckle(masks: Tensor) -> Tensor:
    """Keep the pixels of ``(N, H, W)`` bool masks that have at least two 8-neighbours in the mask."""
    return masks & (box_count(masks) >= 3)


def box_count(masks: Tensor) -> Tensor:
    """Number of set pixels in the 3x3 box around each pixel of ``(N, H, W)`` bool masks (the pixel included).

    Two passes of shifted sums: exact, and much faster on CPU than a one-channel ``conv2d``.
    """
    padded = F.pad(masks.float(), (1, 1, 1, 1))  # (N, H + 2, W + 2)
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]  # (N, H, W + 2)
    return rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]  # (N, H, W)


def dilate(masks: Tensor, radius: int) -> Tensor:
    """``(N, H, W)`` bool masks grown by ``radius`` pixels (a square structuring element)."""
    size = 2 * radius + 1
    return F.max_pool2d(masks[:, None].float(), kernel_size=size, stride=1, padding=radius)[:, 0] > 0


def close(masks: Tensor) -> Tensor:
    """Morphological closing (3x3 dilation, then erosion) of ``(N, H, W)`` bool masks: fills pinholes."""
    dilated = F.max_pool2d(masks[:, None].float(), kernel_size=3, stride=1, padding=1)
    eroded = -F.max_pool2d(-F.pad(dilated, (1, 1, 1, 1), value=1.0), kernel_size=3, stride=1)
    return eroded[:, 0] > 0


def colour_coverage(nearest: Tensor, nearest_squared: Tensor, colour_threshold: float) -> Tensor:
    """Share of each image's pixels that are clearly (within the threshold, despeckled) each palette colour.

    Args:
        nearest, nearest_squared: ``(B, H, W)`` from :func:`nearest_palette`.
        colour_threshold: largest RGB distance (0-255 scale) of a clear pixel to its colour.

    Returns:
        ``(B, K)`` for the ``K`` colours of ``COLOURS`` (background excluded).
    """
    batch, height, width = nearest.shape
    clear = nearest.masked_fill(nearest_squared > colour_threshold**2, -1)  # (B, H, W)
    per_colour = clear[:, None] == torch.arange(len(COLOURS), device=nearest.device)[None, :, None, None]
    per_colour = despeckle(per_colour.flatten(0, 1)).view(batch, len(COLOURS), height, width)
    return per_colour.float().mean(dim=(2, 3))


@dataclass(frozen=True)
class BoxMeasures:
    """Bounding-box measures of ``M`` outlines, each ``(M,)``, as fractions of the image side.

    Attributes:
        centre_x, centre_y: the box centre (not the centroid, which sits a third of the height below a
            triangle's centre).
        half_extent: half the box's longer side (the unit of ``spec.SIZES``).
        fill_ratio: outline area / box area, in [0, 1].
    """

    centre_x: Tensor
    centre_y: Tensor
    half_extent: Tensor
    fill_ratio: Tensor


def box_measures(outlines: Tensor) -> BoxMeasures:
    """Tight bounding box of each of the ``(M, H, W)`` bool outlines, and what it tells.

    An empty outline gives meaningless numbers (callers report nothing for objects that were not found).
    """
    _, height, width = outlines.shape
    pixels = outlines.float()
    rows, cols = pixels.sum(dim=2), pixels.sum(dim=1)  # (M, H), (M, W)

    def leading_empty(counts: Tensor) -> Tensor:  # (M, L) -> (M,) number of empty lines before the first
        return (counts.cumsum(dim=1) == 0).sum(dim=1).clamp_max(counts.shape[1] - 1)

    top, left = leading_empty(rows), leading_empty(cols)  # (M,) first line inside
    bottom, right = height - leading_empty(rows.flip(1)), width - leading_empty(cols.flip(1))  # last + 1
    box_h, box_w = bottom - top, right - left
    fill = (pixels.sum(dim=(1, 2)) / (box_h * box_w).clamp_min(1).float()).clamp_max(1.0)
    return BoxMeasures(
        centre_x=(left + right).float() / (2 * width),
        centre_y=(top + bottom).float() / (2 * height),
        half_extent=torch.maximum(box_h.float() / (2 * height), box_w.float() / (2 * width)),
        fill_ratio=fill,
    )


def shape_of_fill(fill_ratio: float) -> str:
    """The shape whose fill ratio is nearest: square 1, circle pi/4 ~ 0.785, triangle 0.5 (thresholds halfway)."""
    if fill_ratio >= CIRCLE_SQUARE_FILL:
        return "square"
    return "circle" if fill_ratio >= TRIANGLE_CIRCLE_FILL else "triangle"


def size_of_extent(half_extent: float) -> str:
    """The ``spec.SIZES`` name whose half-extent (fraction of the side) is nearest to ``half_extent``."""
    return min(SIZES, key=lambda name: abs(SIZES[name] - half_extent))


def positions_of(centre_x: float, centre_y: float, margin: float) -> tuple[str, ...]:
    """Position words that hold for a centre (fractions of the side), with a dead zone of ``margin``.

    "left" when ``x < 0.5 - margin``, "right" when ``x > 0.5 + margin``, "top" / "bottom" likewise on ``y``,
    "center" when both are within the margin.
    """
    words = []
    if centre_x < 0.5 - margin:
        words.append("left")
    if centre_x > 0.5 + margin:
        words.append("right")
    if centre_y < 0.5 - margin:
        words.append("top")
    if centre_y > 0.5 + margin:
        words.append("bottom")
    if abs(centre_x - 0.5) <= margin and abs(centre_y - 0.5) <= margin:
        words.append("center")
    return tuple(words)
