"""An analytic judge of generated *shapes* images: colour, position and shape of every object a caption names.

The shapes world (:mod:`attngan.data.shapes_spec`) has a few far-apart colours on a dark background, so a
generated image can be checked without a learned classifier:

1. **Caption -> objects.** :func:`parse_shapes_caption` finds the colour, shape, size and position words and
   groups them into objects (one per shape word; clauses split at "and", "with", commas ...).
2. **Pixels -> colours.** Every pixel takes its nearest palette colour (the spec's colours plus the
   background). An object's *clear* pixels are those of the named colour within ``colour_threshold`` (RGB
   distance, 0-255 scale), minus speckle (pixels with fewer than two clear 8-neighbours). Its *outline* adds
   the pixels nearest to the named colour within twice the threshold that lie within 2 px of a clear pixel
   (blurred edges, noise), then closes pinholes (3x3 closing).
3. **Per object.** *Colour* is right when the clear pixels cover at least ``min_area`` of the image and the
   caption's colours are the image's most-covered ones (a caption naming ``n`` distinct colours: the named
   colour is among the ``n`` colours with the largest clear area), so an image of multicoloured noise,
   which holds a little of every colour, fails.
   *Position*: the centre of the outline's bounding box (not the centroid, which sits a third of the
   height below a triangle's centre), as fractions of the side, is "left" when ``x < 0.5 - margin``,
   "right" when ``x > 0.5 + margin``, "top" / "bottom" likewise on ``y``, "center" when both are within the
   margin. *Shape*: the outline's fill ratio ``area / bounding-box area`` is 1 for a square, pi/4 ~ 0.785
   for a circle and 0.5 for a triangle (1.0, 0.76-0.79 and 0.52-0.54 on the dataset's 64x64 images); the
   thresholds sit halfway (0.89, 0.64). Position and shape count as wrong when the colour is not found.
   When two objects of one caption share a colour and have different positions, each gets the pixels
   nearer its own position.

On the dataset's own images all three accuracies are 1.0 at 32 px and above (shape is unreliable at 16 px,
colour and position are not); with Gaussian pixel noise of std 0.1 (in [-1, 1] units) and a 3x3 binomial
blur they stay at 1.0 / 1.0 / 0.98, and no colour absent from an image is reported present.

Accuracies are over objects (each object named by a caption is one trial for each attribute it has);
``single_object_*`` restrict to captions naming exactly one object (the setting of the AttnGAN targets), and
``image_acc`` counts images whose every named attribute is right.

:func:`attention_localisation` measures where the generator's word attention goes: the share of a colour or
shape word's attention mass that falls inside its object's ground-truth mask.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric

from attngan.data import shapes_spec
from attngan.data.shapes_spec import BACKGROUND_RGB, COLOURS, POSITIONS, SHAPES, SIZES

__all__ = [
    "AttentionLocalisation",
    "CaptionObject",
    "ImageCheck",
    "ObjectCheck",
    "ShapesOracle",
    "attention_localisation",
    "attention_word_shares",
    "check_shapes_images",
    "colour_labels",
    "parse_shapes_caption",
]

COLOUR_WORDS: dict[str, str] = {name: name for name in COLOURS}
SHAPE_WORDS: dict[str, str] = {name: name for name in SHAPES}
SIZE_WORDS: dict[str, str] = {name: name for name in SIZES} | {
    w: s for w, s in {"big": "large", "little": "small", "tiny": "small"}.items() if s in SIZES
}
POSITION_WORDS: dict[str, str] = (
    {name: name for name in POSITIONS}
    | {w: p for w, p in {"centre": "center", "middle": "center", "upper": "top", "lower": "bottom"}.items()}
    | {w: p for p, words in getattr(shapes_spec, "POSITION_WORDS", {}).items() for w in words}
)
POSITION_WORDS = {w: p for w, p in POSITION_WORDS.items() if p in POSITIONS}
# Words and punctuation that end a clause: attributes never cross them.
_CLAUSE_BREAKS = frozenset({",", ";", ".", ":", "and", "while", "whereas", "but", "with", "plus"})
_TOKEN_RE = re.compile(r"\w+|[,;.:]")

# Fill ratio (area / bounding box) thresholds between triangle (0.5), circle (pi/4) and square (1).
_TRIANGLE_CIRCLE = 0.64
_CIRCLE_SQUARE = 0.89
_BOX_QUANTILE = 0.0  # > 0 trims that share of the pixels off each side of the box


@dataclass(frozen=True)
class CaptionObject:
    """One object named by a caption; ``None`` where the caption does not say.

    ``colour_token`` / ``shape_token`` index the caption's *words* (``attngan.text.tokenize`` order,
    punctuation not counted), i.e. the attention positions of those words.
    """

    colour: str | None = None
    shape: str | None = None
    size: str | None = None
    position: str | None = None
    colour_token: int | None = None
    shape_token: int | None = None


def _tokens_with_breaks(caption: str | Sequence[str]) -> list[str]:
    if isinstance(caption, str):
        return _TOKEN_RE.findall(caption.lower())
    return [str(word).lower() for word in caption]


def parse_shapes_caption(caption: str | Sequence[str]) -> list[CaptionObject]:
    """Read the objects a shapes caption names.

    Each shape word makes an object (a colour word with no shape word in its clause makes one too). Within a
    clause, colour and size words go to the first object word at or after them (adjectives precede nouns),
    else to the last one before; position words go to the nearest object word before them, else to the
    first after. A clause with a position but no object gives it to the previous object if that has none
    ("a red circle, on the left"), else to the next one ("on the left, a red circle"). So "a small red circle
    on the left and a blue square on the right", "on the left is a red circle" and "a circle that is red, in
    the middle" all parse as expected.

    Args:
        caption: the caption text, or its words (e.g. ``tokenize(text)`` or decoded ids).

    Returns:
        The objects in caption order.
    """
    tokens = _tokens_with_breaks(caption)
    clauses: list[list[tuple[int, str]]] = [[]]
    word_index = 0
    for token in tokens:
        if token in _CLAUSE_BREAKS:
            clauses.append([])
        if token[0].isalnum() or token[0] == "_":
            if token not in _CLAUSE_BREAKS:
                clauses[-1].append((word_index, token))
            word_index += 1

    objects: list[CaptionObject] = []
    pending_position: str | None = None  # from a clause without an object: "on the left, a red circle"
    for clause in clauses:
        anchors = [k for k, (_, w) in enumerate(clause) if w in SHAPE_WORDS]
        if not anchors:
            anchors = [k for k, (_, w) in enumerate(clause) if w in COLOUR_WORDS]
        if not anchors:
            position = next((POSITION_WORDS[w] for _, w in clause if w in POSITION_WORDS), None)
            if position and objects and objects[-1].position is None:  # "a red circle, on the left"
                objects[-1] = replace(objects[-1], position=position)
            elif position:
                pending_position = position
            continue
        found: list[dict] = [{} for _ in anchors]
        if pending_position is not None:
            found[0]["position"], pending_position = pending_position, None
        for k, (index, word) in enumerate(clause):
            after = [a for a, pos in enumerate(anchors) if pos >= k]
            before = [a for a, pos in enumerate(anchors) if pos <= k]
            if word in COLOUR_WORDS or word in SIZE_WORDS:
                target = after[0] if after else before[-1]
                if word in COLOUR_WORDS:
                    found[target]["colour"] = (COLOUR_WORDS[word], index)
                else:
                    found[target].setdefault("size", SIZE_WORDS[word])
            elif word in POSITION_WORDS:
                target = before[-1] if before else after[0]
                found[target]["position"] = POSITION_WORDS[word]
        for pos, attrs in zip(anchors, found):
            index, word = clause[pos]
            colour = attrs.get("colour")
            objects.append(
                CaptionObject(
                    colour=colour[0] if colour else None,
                    shape=SHAPE_WORDS.get(word),
                    size=attrs.get("size"),
                    position=attrs.get("position"),
                    colour_token=colour[1] if colour else None,
                    shape_token=index if word in SHAPE_WORDS else None,
                )
            )
    return objects


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


@dataclass
class ImageCheck:
    """All objects of one image; the image is right when every named attribute is."""

    objects: list[ObjectCheck] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return all(
            verdict is not False for o in self.objects for verdict in (o.colour_ok, o.position_ok, o.shape_ok)
        )


def _to_rgb255(images: Tensor) -> Tensor:
    """``(B, 3, H, W)`` float [-1, 1] or uint8 -> float RGB on the 0-255 scale."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.float()
    return (images.detach().float().clamp(-1, 1) + 1) * 127.5


def _nearest_palette(images: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest palette entry of every pixel and its squared RGB distance: ``(B, H, W)`` twice."""
    rgb = _to_rgb255(images)  # (B, 3, H, W)
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
    labels, nearest_squared = _nearest_palette(images)
    return labels.masked_fill(nearest_squared > colour_threshold**2, -1)


def _despeckle(masks: Tensor) -> Tensor:
    """Keep the pixels of ``(N, H, W)`` bool masks that have at least two 8-neighbours in the mask."""
    neighbours = F.conv2d(masks[:, None].float(), torch.ones(1, 1, 3, 3, device=masks.device), padding=1)[
        :, 0
    ]
    return masks & (neighbours >= 3)


def _colour_coverage(nearest: Tensor, nearest_squared: Tensor, colour_threshold: float) -> Tensor:
    """Share of each image's pixels that are clearly (within the threshold, despeckled) each palette colour.

    Args:
        nearest, nearest_squared: ``(B, H, W)`` from :func:`_nearest_palette`.

    Returns:
        ``(B, K)`` for the ``K`` colours of ``COLOURS`` (background excluded).
    """
    batch, height, width = nearest.shape
    clear = nearest.masked_fill(nearest_squared > colour_threshold**2, -1)  # (B, H, W)
    per_colour = clear[:, None] == torch.arange(len(COLOURS), device=nearest.device)[None, :, None, None]
    per_colour = _despeckle(per_colour.flatten(0, 1)).view(batch, len(COLOURS), height, width)
    return per_colour.float().mean(dim=(2, 3))


def _positions_of(centres: Tensor, margin: float) -> list[tuple[str, ...]]:
    """Position words that hold for each centre ``(M, 2)`` (x, y fractions)."""
    out = []
    for x, y in centres.tolist():
        words = []
        if x < 0.5 - margin:
            words.append("left")
        if x > 0.5 + margin:
            words.append("right")
        if y < 0.5 - margin:
            words.append("top")
        if y > 0.5 + margin:
            words.append("bottom")
        if abs(x - 0.5) <= margin and abs(y - 0.5) <= margin:
            words.append("center")
        out.append(tuple(words))
    return out


def _close(masks: Tensor) -> Tensor:
    """Morphological closing (3x3 dilation, then erosion) of ``(M, H, W)`` bool masks: fills pinholes."""
    dilated = F.max_pool2d(masks[:, None].float(), kernel_size=3, stride=1, padding=1)
    eroded = -F.max_pool2d(-F.pad(dilated, (1, 1, 1, 1), value=1.0), kernel_size=3, stride=1)
    return eroded[:, 0] > 0


def _quantile_index(marginal: Tensor, q: float) -> Tensor:
    """First index where the cumulative share of ``marginal (M, L)`` exceeds ``q``: ``(M,)``."""
    cdf = marginal.cumsum(dim=1) / marginal.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return (cdf <= q).sum(dim=1).clamp_max(marginal.shape[1] - 1)


def check_shapes_images(
    images: Tensor,
    captions: Sequence[str | Sequence[str] | Sequence[CaptionObject]],
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
    if len(captions) != images.shape[0]:
        raise ValueError(f"got {images.shape[0]} images but {len(captions)} captions")
    per_image = [
        list(c) if c and isinstance(next(iter(c)), CaptionObject) else parse_shapes_caption(c)  # type: ignore[arg-type]
        for c in captions
    ]
    flat = [(b, o) for b, objs in enumerate(per_image) for o in objs]
    if not flat:
        return [ImageCheck() for _ in per_image]

    _, _, height, width = images.shape
    nearest, nearest_squared = _nearest_palette(images)  # (B, H, W) twice
    device = nearest.device
    colour_names = list(COLOURS)
    image_index = torch.tensor([b for b, _ in flat], device=device)  # (M,)
    colour_index = torch.tensor(
        [colour_names.index(o.colour) if o.colour else -2 for _, o in flat], device=device
    )  # (M,) -2 never matches
    named = nearest[image_index] == colour_index[:, None, None]  # (M, H, W) nearest to the named colour
    distance = nearest_squared[image_index]
    masks = named & (distance <= colour_threshold**2)  # (M, H, W) clearly the named colour
    # Blurred edges and noisy pixels are nearer to the named colour than to any other but not within the
    # threshold; the outline (for shape and box) takes them too, near the clear pixels.
    outline = named & (distance <= (2 * colour_threshold) ** 2)

    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height  # (H,)
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width  # (W,)
    # Same colour twice in one caption: each object keeps the pixels nearer its own named position.
    first = 0
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
                masks[first + i] &= own < rival
                outline[first + i] &= own < rival
        first += len(objs)

    # Speckle: keep pixels with at least two same-colour 8-neighbours.
    masks = _despeckle(masks)
    near = F.max_pool2d(masks[:, None].float(), kernel_size=5, stride=1, padding=2)[:, 0] > 0
    outline = (outline & near) | masks  # (M, H, W)
    outline = _close(outline)

    pixels = masks.float().sum(dim=(1, 2))  # (M,)
    area = pixels / (height * width)
    # Dominance: the caption's colours must be the image's most-covered ones, so that an image of
    # multicoloured noise (which holds a bit of every colour) does not pass the colour check.
    coverage = _colour_coverage(nearest, nearest_squared, colour_threshold)  # (B, K)
    distinct = torch.tensor(
        [len({o.colour for o in objs if o.colour is not None}) for objs in per_image], device=device
    )  # (B,)
    own = coverage[image_index, colour_index.clamp_min(0)]  # (M,)
    rank = (coverage[image_index] > own[:, None]).sum(dim=1)  # (M,) colours covering more than the named one
    found = (area >= min_area) & (rank < distinct[image_index])
    outline_f = outline.float()
    rows, cols = outline_f.sum(dim=2), outline_f.sum(dim=1)  # (M, H), (M, W)
    top, left = _quantile_index(rows, _BOX_QUANTILE), _quantile_index(cols, _BOX_QUANTILE)  # first inside
    bottom = height - _quantile_index(rows.flip(1), _BOX_QUANTILE)  # (M,) last inside + 1
    right = width - _quantile_index(cols.flip(1), _BOX_QUANTILE)
    box_h, box_w = bottom - top, right - left
    cx, cy = (left + right).float() / (2 * width), (top + bottom).float() / (2 * height)  # (M,) box centre
    fill = (outline_f.sum(dim=(1, 2)) / (box_h * box_w).clamp_min(1).float()).clamp_max(1.0)
    predicted = [
        "square" if f >= _CIRCLE_SQUARE else "circle" if f >= _TRIANGLE_CIRCLE else "triangle"
        for f in fill.tolist()
    ]
    positions = _positions_of(torch.stack([cx, cy], dim=1), position_margin)

    results = [ImageCheck() for _ in per_image]
    for m, (b, obj) in enumerate(flat):
        ok = bool(found[m])
        predicted_shape = predicted[m] if ok else None
        results[b].objects.append(
            ObjectCheck(
                expected=obj,
                colour_ok=ok if obj.colour is not None else None,
                position_ok=(ok and obj.position in positions[m]) if obj.position is not None else None,
                shape_ok=(ok and predicted_shape == obj.shape) if obj.shape is not None else None,
                area=float(area[m]),
                centre=(float(cx[m]), float(cy[m])) if ok else None,
                fill_ratio=float(fill[m]) if ok else None,
                predicted_shape=predicted_shape,
                predicted_positions=positions[m] if ok else (),
            )
        )
    return results


_ORACLE_KEYS = (
    "colour",
    "position",
    "shape",
    "single_object_colour",
    "single_object_position",
    "single_object_shape",
    "image",
)


class ShapesOracle(Metric):
    """Colour, position and shape accuracy of generated shapes images (counts summed across processes).

    :meth:`compute` returns, as 0-dim tensors: ``colour_acc``, ``position_acc``, ``shape_acc`` (over objects),
    ``single_object_colour_acc``, ``single_object_position_acc``, ``single_object_shape_acc`` (captions with
    one object), ``image_acc`` (every named attribute of the image right) and ``num_objects``; an accuracy
    with nothing to count is NaN.

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
        self.add_state(
            "correct", default=torch.zeros(len(_ORACLE_KEYS), dtype=torch.long), dist_reduce_fx="sum"
        )
        self.add_state(
            "total", default=torch.zeros(len(_ORACLE_KEYS), dtype=torch.long), dist_reduce_fx="sum"
        )

    def update(
        self, images: Tensor, captions: Sequence[str | Sequence[str] | Sequence[CaptionObject]]
    ) -> None:
        """Judge a batch.

        Args:
            images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.
            captions: per image, the caption it was generated from (text, words or parsed objects).
        """
        checks = check_shapes_images(
            images, captions, self.colour_threshold, self.min_area, self.position_margin
        )
        correct = torch.zeros(len(_ORACLE_KEYS), dtype=torch.long)
        total = torch.zeros(len(_ORACLE_KEYS), dtype=torch.long)
        for check in checks:
            single = len(check.objects) == 1
            for obj in check.objects:
                for k, verdict in enumerate((obj.colour_ok, obj.position_ok, obj.shape_ok)):
                    if verdict is None:
                        continue
                    for key in (k, k + 3) if single else (k,):
                        total[key] += 1
                        correct[key] += int(verdict)
            if check.objects:
                total[6] += 1
                correct[6] += int(check.correct)
        self.correct += correct.to(self.correct.device)
        self.total += total.to(self.total.device)

    def compute(self) -> dict[str, Tensor]:
        accuracy = self.correct.double() / self.total.double()  # NaN where total is 0
        out = {f"{key}_acc": accuracy[k].float() for k, key in enumerate(_ORACLE_KEYS)}
        out["num_objects"] = self.total[0].clone()
        return out


def _word_labels_from_objects(tokens: Sequence[str], objects: Sequence[Any]) -> dict[int, tuple[int, str]]:
    """Map word positions of a caption to ``(mask label, "colour" | "shape")`` via its ground-truth objects.

    A parsed object is matched to the ground-truth object with the same colour and shape (or the only one
    with its colour, or its shape, when the caption leaves the other out). Label ``k + 1`` is ``objects[k]``.
    """

    def attribute(obj: Any, name: str) -> str | None:
        return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)

    truth = [(attribute(o, "colour"), attribute(o, "shape")) for o in objects]
    out: dict[int, tuple[int, str]] = {}
    for parsed in parse_shapes_caption(list(tokens)):
        matches = [
            k
            for k, (colour, shape) in enumerate(truth)
            if (parsed.colour is None or parsed.colour == colour)
            and (parsed.shape is None or parsed.shape == shape)
        ]
        if len(matches) != 1:
            continue  # ambiguous or not in the image: not scored
        if parsed.colour_token is not None:
            out[parsed.colour_token] = (matches[0] + 1, "colour")
        if parsed.shape_token is not None:
            out[parsed.shape_token] = (matches[0] + 1, "shape")
    return out


def attention_word_shares(
    attention: Tensor,
    tokens: Sequence[Sequence[str]],
    masks: Tensor,
    objects: Sequence[Sequence[Any]] | None = None,
    word_labels: Sequence[Mapping[int, int | tuple[int, str]]] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per scored word: share of its attention inside its object's mask (see :func:`attention_localisation`).

    Returns:
        ``(share (N,), is_colour_word (N,) bool, object_area (N,))`` over the N scored words; ``object_area``
        is the share a uniform attention map would get.
    """
    if attention.dim() != 4 or masks.dim() != 3 or masks.shape[0] != attention.shape[0]:
        raise ValueError(
            f"expected attention (B, T, H, W) and masks (B, H0, W0), got {tuple(attention.shape)} and "
            f"{tuple(masks.shape)}"
        )
    if (objects is None) == (word_labels is None):
        raise ValueError("give exactly one of objects= or word_labels=")
    batch, num_words, height, width = attention.shape
    if len(tokens) != batch:
        raise ValueError(f"got {batch} attention maps but {len(tokens)} token lists")
    if word_labels is None:
        assert objects is not None
        if len(objects) != batch:
            raise ValueError(f"got {batch} attention maps but {len(objects)} object lists")
        word_labels = [_word_labels_from_objects(t, o) for t, o in zip(tokens, objects)]

    sample_idx, word_idx, label_idx, is_colour = [], [], [], []
    for b, mapping in enumerate(word_labels):
        for t, value in mapping.items():
            if not 0 <= t < num_words:
                raise ValueError(f"word position {t} outside the {num_words} attention maps of sample {b}")
            label, kind = value if isinstance(value, tuple) else (value, None)
            if kind is None:
                kind = "colour" if t < len(tokens[b]) and tokens[b][t] in COLOUR_WORDS else "shape"
            sample_idx.append(b)
            word_idx.append(t)
            label_idx.append(int(label))
            is_colour.append(kind == "colour")
    device = attention.device
    if not sample_idx:
        empty = torch.zeros(0, device=device)
        return empty, empty.bool(), empty

    num_labels = max(int(masks.max()), *label_idx) + 1
    one_hot = F.one_hot(masks.long().to(device), num_labels)  # (B, H0, W0, L)
    cover = F.interpolate(
        one_hot.permute(0, 3, 1, 2).float(), size=(height, width), mode="area"
    )  # (B, L, H, W)
    s = torch.tensor(sample_idx, device=device)
    maps = attention[s, torch.tensor(word_idx, device=device)].float()  # (N, H, W)
    inside = cover[s, torch.tensor(label_idx, device=device)]  # (N, H, W)
    share = (maps * inside).sum(dim=(1, 2)) / maps.sum(dim=(1, 2)).clamp_min(1e-12)  # (N,)
    return share, torch.tensor(is_colour, device=device), inside.mean(dim=(1, 2))


def attention_localisation(
    attention: Tensor,
    tokens: Sequence[Sequence[str]],
    masks: Tensor,
    objects: Sequence[Sequence[Any]] | None = None,
    word_labels: Sequence[Mapping[int, int | tuple[int, str]]] | None = None,
) -> dict[str, Tensor]:
    """Share of each colour / shape word's attention mass that falls inside its object's mask, averaged.

    The label masks are downsampled to the attention grid by area (each cell holds the fraction of it the
    object covers), so the share of word ``t`` of sample ``b`` naming object label ``l`` is
    ``sum_hw attention[b, t] * cover_l / sum_hw attention[b, t]``. ``uniform_baseline`` is what a uniform map
    would score (the mean object area), for reference.

    Args:
        attention: ``(B, T, H, W)`` word attention (β of paper Eq. 2) of one generator stage.
        tokens: per sample, its words in attention order (``tokens[b][t]`` is attended at ``attention[b, t]``).
        masks: ``(B, H0, W0)`` long label masks: 0 background, ``k + 1`` for ``objects[b][k]``.
        objects: per sample, the ground-truth objects in label order: anything with ``colour`` and ``shape``
            (``attngan.data.shapes.ShapesObject``, :class:`CaptionObject`, or ``{"colour": ..., "shape": ...}``
            mappings); the caption's colour and shape words are matched to them.
        word_labels: instead of ``objects``: per sample, word position -> mask label (or
            ``(label, "colour" | "shape")``).

    Returns:
        0-dim tensors ``attention_localisation`` (all scored words), ``colour_word_localisation``,
        ``shape_word_localisation``, ``uniform_baseline`` (NaN where nothing is scored) and ``num_words``.
    """
    share, colour, baseline = attention_word_shares(attention, tokens, masks, objects, word_labels)
    return {
        "attention_localisation": share.mean(),
        "colour_word_localisation": share[colour].mean(),
        "shape_word_localisation": share[~colour].mean(),
        "uniform_baseline": baseline.mean(),
        "num_words": torch.tensor(share.numel()),
    }


class AttentionLocalisation(Metric):
    """Running mean of :func:`attention_localisation` over batches (sums across processes)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # rows: all, colour, shape, baseline; columns: sum of shares, number of words
        self.add_state("sums", default=torch.zeros(4, 2, dtype=torch.float64), dist_reduce_fx="sum")

    def update(
        self,
        attention: Tensor,
        tokens: Sequence[Sequence[str]],
        masks: Tensor,
        objects: Sequence[Sequence[Any]] | None = None,
        word_labels: Sequence[Mapping[int, int | tuple[int, str]]] | None = None,
    ) -> None:
        """Same arguments as :func:`attention_localisation`."""
        share, colour, baseline = attention_word_shares(attention, tokens, masks, objects, word_labels)
        sums = torch.stack(
            [
                torch.stack([share.sum(), torch.tensor(float(share.numel()), device=share.device)]),
                torch.stack([share[colour].sum(), colour.sum().float()]),
                torch.stack([share[~colour].sum(), (~colour).sum().float()]),
                torch.stack([baseline.sum(), torch.tensor(float(share.numel()), device=share.device)]),
            ]
        )  # (4, 2)
        self.sums += sums.to(self.sums)

    def compute(self) -> dict[str, Tensor]:
        means = (self.sums[:, 0] / self.sums[:, 1]).float()  # NaN where nothing was counted
        keys = (
            "attention_localisation",
            "colour_word_localisation",
            "shape_word_localisation",
            "uniform_baseline",
        )
        out = {key: means[k] for k, key in enumerate(keys)}
        out["num_words"] = self.sums[0, 1].long()
        return out
