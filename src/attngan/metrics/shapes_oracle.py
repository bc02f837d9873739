"""An analytic judge of generated *shapes* images: colour, position, shape and size of every named object.

The shapes world (:mod:`attngan.data.shapes.spec`) has a few far-apart colours on a dark background, so a
generated image can be checked without a learned classifier:

1. **Caption -> objects.** :func:`attngan.data.shapes.parse_shapes_caption` (the grammar the captions were
   written with) finds the colour, shape, size and position words and groups them into objects.
2. **Pixels -> colours** (:mod:`attngan.metrics.shapes_pixels`). Every pixel takes its nearest palette colour
   (the spec's colours plus the background). An object's *clear* pixels are those of the named colour within
   ``colour_threshold`` (RGB distance, 0-255 scale), minus speckle (pixels with fewer than two clear
   8-neighbours). Its *outline* adds the pixels nearest to the named colour within twice the threshold that
   lie within 2 px of a clear pixel (blurred edges, noise), then closes pinholes (3x3 closing).
3. **Per object.** *Colour* is right when the clear pixels cover at least ``min_area`` of the image and the
   caption's colours are the image's most-covered ones (a caption naming ``n`` distinct colours: the named
   colour is among the ``n`` colours with the largest clear area), so an image of multicoloured noise,
   which holds a little of every colour, fails.
   *Position*: the centre of the outline's bounding box (not the centroid, which sits a third of the
   height below a triangle's centre), as fractions of the side, is "left" when ``x < 0.5 - margin``,
   "right" when ``x > 0.5 + margin``, "top" / "bottom" likewise on ``y``, "center" when both are within the
   margin. *Shape*: the outline's fill ratio ``area / bounding-box area`` is 1 for a square, pi/4 ~ 0.785
   for a circle and 0.5 for a triangle (1.0, 0.76-0.79 and 0.52-0.54 on the dataset's 64x64 images); the
   thresholds sit halfway (0.89, 0.64). *Size*: half the box's longer side, as a fraction of the side, is
   matched to the nearest ``spec.SIZES`` entry (small 0.11, large 0.19; the dataset's objects measure
   0.10-0.13 and 0.18-0.21). Position, shape and size count as wrong when the colour is not found.
   When two objects of one caption share a colour and have different positions, each gets the pixels
   nearer its own position.

On the dataset's own images all four accuracies are 1.0 at 32 px and above (shape is unreliable at 16 px,
colour and position are not); with Gaussian pixel noise of std 0.1 (in [-1, 1] units) and a 3x3 binomial
blur colour and position stay at 1.0 and shape at 0.98, and no colour absent from an image is reported
present.

Accuracies are over objects (each object named by a caption is one trial for each attribute it has);
``single_object_*`` restrict to captions naming exactly one object (the setting of the AttnGAN targets),
``two_object_{colour,position,shape}`` count captions naming exactly two objects, right when *both* objects' colours
(positions) are, and ``image_acc`` counts images whose every named colour, position and shape is right (size is reported on its
own, so that ``image_acc`` stays comparable with runs measured before size was judged).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torchmetrics import Metric

from attngan.data.shapes import CaptionObject, parse_shapes_caption
from attngan.data.shapes.spec import COLOURS, POSITIONS
from attngan.metrics import shapes_pixels as pixels

__all__ = ["ORACLE_RESULT_KEYS", "ImageCheck", "ObjectCheck", "ShapesOracle", "check_shapes_images"]

Captions = Sequence[str | Sequence[str] | Sequence[CaptionObject]]


@dataclass
class ObjectCheck:
    """The oracle's verdict on one named object; ``None`` = the caption does not name that attribute."""

    expected: CaptionObject
    colour_ok: bool | None
    position_ok: bool | None
    shape_ok: bool | None
    area: float  # fraction of the image covered by the named colour (after the same-colour split)
    centre: tuple[float, float] | None  # (x, y) bounding-box centre, as fractions of the side
    fill_ratio: float | None
    predicted_shape: str | None
    predicted_positions: tuple[str, ...] = ()
    size_ok: bool | None = None
    half_extent: float | None = None  # half the box's longer side, as a fraction of the side
    predicted_size: str | None = None

    def verdicts(self) -> dict[str, bool | None]:
        """``{"colour", "position", "shape", "size"}`` -> the verdict on that attribute."""
        return {
            "colour": self.colour_ok,
            "position": self.position_ok,
            "shape": self.shape_ok,
            "size": self.size_ok,
        }


@dataclass
class ImageCheck:
    """All objects of one image; the image is right when every named colour, position and shape is."""

    objects: list[ObjectCheck] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return all(
            verdict is not False for o in self.objects for verdict in (o.colour_ok, o.position_ok, o.shape_ok)
        )


# ----------------------------------------------------------------------------------------- the steps
def _parse_all(captions: Captions, batch: int) -> list[list[CaptionObject]]:
    if len(captions) != batch:
        raise ValueError(
            f"got {batch} images but {len(captions)} captions; give one caption (text, words or parsed "
            "objects) per image"
        )
    parsed = []
    for caption in captions:
        if caption and isinstance(next(iter(caption)), CaptionObject):
            parsed.append(list(caption))  # already parsed
        else:
            parsed.append(parse_shapes_caption(caption))  # type: ignore[arg-type]
    return parsed


def _object_indices(flat: list[tuple[int, CaptionObject]], device: torch.device) -> tuple[Tensor, Tensor]:
    """``(image (M,), colour (M,))`` indices of the M named objects; colour ``-1`` where none is named."""
    colour_names = list(COLOURS)
    image_index = torch.tensor([b for b, _ in flat], device=device)
    colour_index = torch.tensor(
        [colour_names.index(o.colour) if o.colour else -1 for _, o in flat], device=device
    )
    return image_index, colour_index


def _named_colour_masks(
    nearest: Tensor,
    nearest_squared: Tensor,
    image_index: Tensor,
    colour_index: Tensor,
    colour_threshold: float,
) -> tuple[Tensor, Tensor]:
    """Per named object ``(M, H, W)``: its clear pixels, and the wider candidate pixels of its outline.

    Blurred edges and noisy pixels are nearer to the named colour than to any other but not within the
    threshold; the outline (for shape, size and box) may take them, near the clear pixels. An object
    without a colour (index -1, never a palette label) gets no pixels.
    """
    named = nearest[image_index] == colour_index[:, None, None]  # (M, H, W) nearest to the named colour
    distance = nearest_squared[image_index]
    clear = named & (distance <= colour_threshold**2)
    candidates = named & (distance <= (2 * colour_threshold) ** 2)
    return clear, candidates


def _split_shared_colours(per_image: list[list[CaptionObject]], *masks: Tensor) -> None:
    """Same colour twice in one caption: each object keeps (in place) the pixels nearer its own position."""
    height, width = masks[0].shape[1:]
    device = masks[0].device
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height  # (H,)
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width  # (W,)
    first = 0  # row of the image's first object in the flat (M, H, W) masks
    for objs in per_image:
        for i, obj in enumerate(objs):
            for j, other in enumerate(objs):
                if i == j or obj.colour is None or other.colour != obj.colour:
                    continue
                if obj.position is None or other.position is None or obj.position == other.position:
                    continue
                (ax, ay), (ox, oy) = POSITIONS[obj.position], POSITIONS[other.position]
                own = (xs[None, :] - ax) ** 2 + (ys[:, None] - ay) ** 2  # (H, W)
                rival = (xs[None, :] - ox) ** 2 + (ys[:, None] - oy) ** 2
                for mask in masks:
                    mask[first + i] &= own < rival
        first += len(objs)


def _colour_found(
    clear: Tensor,
    nearest: Tensor,
    nearest_squared: Tensor,
    per_image: list[list[CaptionObject]],
    image_index: Tensor,
    colour_index: Tensor,
    colour_threshold: float,
    min_area: float,
) -> tuple[Tensor, Tensor]:
    """``(area (M,), found (M,) bool)``: the named colour covers ``min_area`` and ranks among the caption's.

    Dominance: the caption's colours must be the image's most-covered ones, so that an image of
    multicoloured noise (which holds a bit of every colour) does not pass the colour check.
    """
    device = clear.device
    height, width = clear.shape[1:]
    area = clear.float().sum(dim=(1, 2)) / (height * width)  # (M,)
    coverage = pixels.colour_coverage(nearest, nearest_squared, colour_threshold)  # (B, K)
    distinct = torch.tensor(
        [len({o.colour for o in objs if o.colour is not None}) for objs in per_image], device=device
    )  # (B,)
    own = coverage[image_index, colour_index.clamp_min(0)]  # (M,)
    rank = (coverage[image_index] > own[:, None]).sum(dim=1)  # (M,) colours covering more than the named one
    return area, (area >= min_area) & (rank < distinct[image_index])


def _verdict(
    expected: CaptionObject, found: bool, area: float, box: pixels.BoxMeasures, m: int, margin: float
) -> ObjectCheck:
    """The verdict on object ``m`` of the batch, from its colour test and its box measures."""
    if not found:
        return ObjectCheck(
            expected=expected,
            colour_ok=False if expected.colour is not None else None,
            position_ok=False if expected.position is not None else None,
            shape_ok=False if expected.shape is not None else None,
            area=area,
            centre=None,
            fill_ratio=None,
            predicted_shape=None,
            size_ok=False if expected.size is not None else None,
        )
    centre = (float(box.centre_x[m]), float(box.centre_y[m]))
    fill, half_extent = float(box.fill_ratio[m]), float(box.half_extent[m])
    positions = pixels.positions_of(*centre, margin)
    shape, size = pixels.shape_of_fill(fill), pixels.size_of_extent(half_extent)
    return ObjectCheck(
        expected=expected,
        colour_ok=True if expected.colour is not None else None,
        position_ok=expected.position in positions if expected.position is not None else None,
        shape_ok=shape == expected.shape if expected.shape is not None else None,
        area=area,
        centre=centre,
        fill_ratio=fill,
        predicted_shape=shape,
        predicted_positions=positions,
        size_ok=size == expected.size if expected.size is not None else None,
        half_extent=half_extent,
        predicted_size=size,
    )


def check_shapes_images(
    images: Tensor,
    captions: Captions,
    colour_threshold: float = 60.0,
    min_area: float = 0.005,
    position_margin: float = 0.1,
) -> list[ImageCheck]:
    """Judge each image against its caption (see the module docstring for the rules).

    Args:
        images: ``(B, 3, H, W)`` float in [-1, 1] or uint8, any size.
        captions: per image, the caption text, its words, or already parsed :class:`CaptionObject` s.
        colour_threshold: largest RGB distance (0-255) of a pixel to the palette colour it is counted as.
        min_area: smallest image fraction the named colour must cover to count as present.
        position_margin: dead zone around the centre line, as a fraction of the side.

    Returns:
        One :class:`ImageCheck` per image.
    """
    per_image = _parse_all(captions, images.shape[0])
    flat = [(b, o) for b, objs in enumerate(per_image) for o in objs]  # the M named objects of the batch
    results = [ImageCheck() for _ in per_image]
    if not flat:
        return results

    nearest, nearest_squared = pixels.nearest_palette(images)  # (B, H, W) twice
    image_index, colour_index = _object_indices(flat, nearest.device)  # (M,) twice
    clear, candidates = _named_colour_masks(
        nearest, nearest_squared, image_index, colour_index, colour_threshold
    )  # (M, H, W) twice
    _split_shared_colours(per_image, clear, candidates)
    clear = pixels.despeckle(clear)
    outline = pixels.close((candidates & pixels.dilate(clear, radius=2)) | clear)  # (M, H, W)
    area, found = _colour_found(
        clear, nearest, nearest_squared, per_image, image_index, colour_index, colour_threshold, min_area
    )  # (M,) twice
    box = pixels.box_measures(outline)
    for m, (b, expected) in enumerate(flat):
        results[b].objects.append(_verdict(expected, bool(found[m]), float(area[m]), box, m, position_margin))
    return results


# ----------------------------------------------------------------------------------------- the metric
ATTRIBUTES: tuple[str, ...] = ("colour", "position", "shape", "size")
TWO_OBJECT_ATTRIBUTES: tuple[str, ...] = ("colour", "position", "shape")  # both objects right
_COUNTERS: tuple[str, ...] = (
    *ATTRIBUTES,
    *(f"single_object_{a}" for a in ATTRIBUTES),
    "image",
    *(f"two_object_{a}" for a in TWO_OBJECT_ATTRIBUTES),
)
ORACLE_RESULT_KEYS: tuple[str, ...] = (*(f"shapes_{name}_acc" for name in _COUNTERS), "shapes_num_objects")
"""What :meth:`ShapesOracle.compute` returns, in order: the final result names of the metric registry."""


class ShapesOracle(Metric):
    """Colour, position, shape and size accuracy of generated shapes images (counts summed across processes).

    :meth:`compute` returns, as 0-dim tensors under the final result names (``shapes_`` + name):
    ``shapes_colour_acc``, ``shapes_position_acc``, ``shapes_shape_acc``, ``shapes_size_acc`` (over objects),
    ``shapes_single_object_{colour,position,shape,size}_acc`` (captions with one object), ``shapes_image_acc``
    (every named colour, position and shape of the image right), ``shapes_two_object_{colour,position,shape}_acc``
    (captions with two objects: both colours / positions / shapes right) and ``shapes_num_objects`` (objects whose
    colour is named); an accuracy with nothing to count is NaN. Each accuracy has two named states,
    ``<name>_correct`` and ``<name>_total`` (e.g. ``single_object_size_correct``).

    Args:
        colour_threshold: see :func:`check_shapes_images`.
        min_area: see :func:`check_shapes_images`.
        position_margin: see :func:`check_shapes_images`.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(
        self, colour_threshold: float = 60.0, min_area: float = 0.005, position_margin: float = 0.1, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.colour_threshold = colour_threshold
        self.min_area = min_area
        self.position_margin = position_margin
        for name in _COUNTERS:
            self.add_state(f"{name}_correct", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
            self.add_state(f"{name}_total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, images: Tensor, captions: Captions) -> None:
        """Judge a batch.

        Args:
            images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.
            captions: per image, the caption it was generated from (text, words or parsed objects).
        """
        checks = check_shapes_images(
            images, captions, self.colour_threshold, self.min_area, self.position_margin
        )
        correct, total = Counter[str](), Counter[str]()
        for check in checks:
            single = len(check.objects) == 1
            for obj in check.objects:
                for attribute, verdict in obj.verdicts().items():
                    if verdict is None:
                        continue
                    for name in (attribute, f"single_object_{attribute}") if single else (attribute,):
                        total[name] += 1
                        correct[name] += int(verdict)
            if check.objects:
                total["image"] += 1
                correct["image"] += int(check.correct)
            if len(check.objects) == 2:
                for attribute in TWO_OBJECT_ATTRIBUTES:
                    verdicts = [o.verdicts()[attribute] for o in check.objects]
                    if None not in verdicts:
                        total[f"two_object_{attribute}"] += 1
                        correct[f"two_object_{attribute}"] += int(all(verdicts))
        for name in total:
            setattr(self, f"{name}_correct", getattr(self, f"{name}_correct") + correct[name])
            setattr(self, f"{name}_total", getattr(self, f"{name}_total") + total[name])

    def compute(self) -> dict[str, Tensor]:
        out = {}
        for name in _COUNTERS:
            correct, total = getattr(self, f"{name}_correct"), getattr(self, f"{name}_total")
            out[f"shapes_{name}_acc"] = (correct.double() / total.double()).float()  # NaN where total is 0
        out["shapes_num_objects"] = self.colour_total.clone()
        return out
