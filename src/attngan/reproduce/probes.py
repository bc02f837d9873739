"""Measurements on a trained checkpoint: its test captions, generation with fixed noise, the shapes oracle.

The evaluation-only studies (word swap, stage refinement, the novel-composition evaluation; the attention study
in :mod:`attngan.reproduce.attention`) all start here: :func:`load_probe` opens the checkpoint with
:class:`attngan.AttnGANPipeline` and the ground truth of the shapes set it was trained on,
:func:`generate_items` renders captions with noise seeded per item (:func:`attngan.models.generate.sample_noise`:
item ``i`` gets the same noise whatever the caption, so a swapped caption with the same index shares its noise),
and :func:`oracle_checks` judges every stage's image at 64 px (:func:`attngan.metrics.shapes_oracle.check_shapes_images`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from attngan.data.shapes import ShapesImage, is_held_out, load_ground_truth, parse_shapes_caption
from attngan.data.shapes.captions import POSITION_OF_WORD
from attngan.data.shapes.spec import COLOURS, IMAGE_SIZE, SHAPES
from attngan.errors import AttnGANError
from attngan.metrics.shapes_oracle import ImageCheck, check_shapes_images

if TYPE_CHECKING:
    from attngan.pipeline import AttnGANPipeline

__all__ = [
    "Generated",
    "Item",
    "Probe",
    "checkpoint_quality",
    "generate_items",
    "load_probe",
    "measure",
    "oracle_checks",
    "proportion",
    "single_object_items",
    "stage_accuracies",
    "swap_caption",
    "word_swap",
]


@dataclass
class Item:
    """One test caption of one image: the image's key, the caption, its index (noise), the ground truth."""

    key: str
    caption: str
    index: int
    truth: ShapesImage


@dataclass
class Probe:
    """A checkpoint ready to measure: its pipeline, dataset root, ground truth and test keys."""

    pipe: AttnGANPipeline
    root: Path
    truth: dict[str, ShapesImage]
    test_keys: list[str]
    holdout: tuple[tuple[str, ...], ...]

    def captions(self, key: str) -> list[str]:
        return (self.root / "captions" / f"{key}.txt").read_text(encoding="utf-8").splitlines()


@dataclass
class Generated:
    """Generated images of N items: ``stages`` one ``(N, 3, s, s)`` tensor per stage (in [-1, 1]),
    ``attention`` per attention stage one ``(words, h, w)`` tensor per item, ``tokens`` per item."""

    stages: list[Tensor]
    attention: list[list[Tensor]]
    tokens: list[list[str]]


def load_probe(checkpoint: str | Path, device: str = "cpu") -> Probe:
    """Open an AttnGAN checkpoint and the shapes dataset it was trained on (from its stored config).

    Raises:
        AttnGANError: the checkpoint was not trained on the built-in shapes data.
    """
    from attngan.data.readers.shapes import ShapesReader
    from attngan.data.shapes.generate import parse_holdout
    from attngan.pipeline import AttnGANPipeline

    pipe = AttnGANPipeline.from_checkpoint(checkpoint, device=device)
    data = (pipe.metadata.get("config") or {}).get("data") or {}
    if data.get("name") != "shapes":
        raise AttnGANError(
            f"{checkpoint} was trained on data={data.get('name')!r}; the reproduce studies need a checkpoint "
            "trained on the built-in shapes data (experiment=shapes_attngan)"
        )
    reader = ShapesReader(
        root=data.get("root"),
        cache_dir=data.get("cache_dir"),
        num_images=int(data["num_images"]),
        generation_seed=int(data.get("generation_seed", 0)),
        holdout=data.get("holdout") or (),
    )
    root = reader.resolve_root()
    truth = load_ground_truth(root)
    test_keys = [k for k in (root / "test.txt").read_text().split() if k in truth]
    return Probe(pipe, root, truth, test_keys, parse_holdout(data.get("holdout") or ()))


def single_object_items(
    probe: Probe,
    num: int,
    every_caption: bool = False,
    keep: Callable[[ShapesImage], bool] | None = None,
) -> list[Item]:
    """Up to ``num`` test captions of one-object images (caption 0 of each, or every caption), in key order."""
    items: list[Item] = []
    for key in probe.test_keys:
        truth = probe.truth[key]
        if len(truth.objects) != 1 or (keep is not None and not keep(truth)):
            continue
        captions = probe.captions(key)
        for caption in captions if every_caption else captions[:1]:
            items.append(Item(key, caption, len(items), truth))
            if len(items) >= num:
                return items
    return items


def held_out(probe: Probe) -> Callable[[ShapesImage], bool]:
    """Whether an image shows a combination of the checkpoint's ``data.holdout``."""
    return lambda truth: is_held_out([(o.colour, o.shape, o.position) for o in truth.objects], probe.holdout)


@torch.no_grad()
def generate_items(
    pipe: AttnGANPipeline, captions: Sequence[str], indices: Sequence[int], seed: int, batch_size: int = 64
) -> Generated:
    """Render ``captions`` with the noise of ``(seed, index)`` per item (same index: same noise)."""
    from attngan.models.generate import sample_noise

    ids, lengths, encoded = pipe.encode_captions(list(captions))
    z, eps = sample_noise(torch.tensor(list(indices)), pipe.z_dim, pipe.condition_dim, seed)
    stages: list[list[Tensor]] = []
    attention: list[list[Tensor]] = []
    for start in range(0, len(captions), batch_size):
        part = slice(start, start + batch_size)
        output = pipe.generate(ids[part], lengths[part], z[part], eps[part])
        if not stages:
            stages = [[] for _ in output.images]
            attention = [[] for _ in output.attention]
        for store, image in zip(stages, output.images, strict=True):
            store.append(image.float().cpu())
        for store, maps in zip(attention, output.attention, strict=True):
            for i in range(maps.shape[0]):
                store.append(maps[i, : int(lengths[start + i])].float().cpu())
    return Generated([torch.cat(s) for s in stages], attention, encoded.tokens)


def oracle_checks(images: Tensor, captions: Sequence[str]) -> list[ImageCheck]:
    """The oracle on ``images (N, 3, s, s)``, upsampled (bilinear) to the dataset's 64 px when smaller."""
    if images.shape[-1] < IMAGE_SIZE:
        images = F.interpolate(images, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    return check_shapes_images(images.clamp(-1, 1), list(captions))


def proportion(hits: int, total: int) -> dict[str, Any]:
    """``{"value", "se", "n"}``: a share and its binomial standard error (NaN with nothing counted)."""
    if total == 0:
        return {"value": math.nan, "se": math.nan, "n": 0}
    p = hits / total
    return {"value": p, "se": math.sqrt(p * (1 - p) / total), "n": total}


def stage_accuracies(checks: Sequence[ImageCheck]) -> dict[str, dict[str, Any]]:
    """Colour, position, shape and whole-image accuracy over the named objects of ``checks``, and
    ``composition`` (colour and shape both right)."""
    counts = {name: [0, 0] for name in ("colour", "position", "shape", "size", "composition", "image")}
    for check in checks:
        for obj in check.objects:
            for name, verdict in obj.verdicts().items():
                if verdict is not None:
                    counts[name][0] += int(verdict)
                    counts[name][1] += 1
            if obj.colour_ok is not None and obj.shape_ok is not None:
                counts["composition"][0] += int(bool(obj.colour_ok and obj.shape_ok))
                counts["composition"][1] += 1
        if check.objects:
            counts["image"][0] += int(check.correct)
            counts["image"][1] += 1
    return {name: proportion(*c) for name, c in counts.items()}


def measure(
    probe: Probe, items: Sequence[Item], seed: int, every_stage: bool = False
) -> tuple[Generated, list[dict[str, dict[str, Any]]]]:
    """Render ``items`` (noise per item index) and judge them with the oracle.

    Returns:
        ``(the generated images, the final stage's accuracies or every stage's)`` (:func:`stage_accuracies`).
    """
    captions = [i.caption for i in items]
    generated = generate_items(probe.pipe, captions, [i.index for i in items], seed)
    stages = generated.stages if every_stage else generated.stages[-1:]
    return generated, [stage_accuracies(oracle_checks(images, captions)) for images in stages]


def checkpoint_quality(probe: Probe, num: int, seed: int) -> dict[str, float]:
    """The checkpoint's floor metrics: the oracle's one-object colour, side, shape and size accuracy of the
    final image on ``num`` single-object test captions (caption 0 of each image)."""
    from attngan.reproduce.rules import quality_of

    items = single_object_items(probe, num)
    return quality_of(measure(probe, items, seed)[1][-1]) if items else {}


# ------------------------------------------------------------------------------------------ word swap
_OPPOSITE = {
    "left": "right",
    "right": "left",
    "top": "bottom",
    "bottom": "top",
    "upper": "lower",
    "lower": "upper",
}
SWAP_KINDS = ("colour", "shape", "position")
CHANCE = {"colour": 1 / len(COLOURS), "shape": 1 / len(SHAPES), "position": 0.5}


def swap_caption(caption: str, kind: str, index: int) -> str | None:
    """``caption`` with its (single object's) colour, shape or position word changed; ``None`` when it has
    none to change (a position swap needs left/right/top/bottom). The new colour / shape is chosen by ``index``."""
    from attngan.text import tokenize

    words = tokenize(caption)
    objects = parse_shapes_caption(words)
    if len(objects) != 1:
        return None
    obj = objects[0]
    if kind == "colour" and obj.colour_token is not None:
        others = [c for c in COLOURS if c != obj.colour]
        words[obj.colour_token] = others[index % len(others)]
    elif kind == "shape" and obj.shape_token is not None:
        others = [s for s in SHAPES if s != obj.shape]
        words[obj.shape_token] = others[index % len(others)]
    elif kind == "position":
        spots = [t for t, w in enumerate(words) if w in POSITION_OF_WORD and w in _OPPOSITE]
        if len(spots) != 1:
            return None
        words[spots[0]] = _OPPOSITE[words[spots[0]]]
    else:
        return None
    return " ".join(words)


def word_swap(probe: Probe, num_captions: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Paper Fig. 5 as a measurement: per kind, over (caption, swapped caption) pairs with the same noise, the
    share whose swapped image shows the changed attribute as the new caption says (``followed``), whose swapped
    image keeps the unchanged attributes as captioned (``kept``), and whose two images are both right in colour,
    shape and side (``success``: the attribute changed as the caption says while the others stayed).

    Returns:
        ``(results per kind, examples)``; an example holds the captions and the final images (uint8 tensors).
    """
    items = single_object_items(probe, num_captions)
    results: dict[str, Any] = {}
    examples: dict[int, dict[str, Any]] = {}
    for kind in SWAP_KINDS:
        pairs = [
            (item, swapped) for item in items if (swapped := swap_caption(item.caption, kind, item.index))
        ]
        if not pairs:
            results[kind] = {"pairs": 0}
            continue
        captions = [p[0].caption for p in pairs] + [p[1] for p in pairs]
        indices = [p[0].index for p in pairs] * 2
        generated = generate_items(probe.pipe, captions, indices, seed)
        final = generated.stages[-1]
        checks = oracle_checks(final, captions)
        n = len(pairs)
        followed = kept = success = base_ok = 0
        for i in range(n):
            swap = checks[n + i].objects[0]
            verdicts = {"colour": swap.colour_ok, "shape": swap.shape_ok, "position": swap.position_ok}
            follows = bool(verdicts.pop(kind))
            keeps = all(bool(v) for v in verdicts.values())  # the unchanged attributes still as captioned
            followed += int(follows)
            kept += int(keeps)
            success += int(checks[i].correct and follows and keeps)  # both images as their captions say
            base_ok += int(checks[i].correct)
            example = examples.setdefault(pairs[i][0].index, {"caption": pairs[i][0].caption, "swaps": {}})
            example.setdefault("image", final[i])
            example["swaps"][kind] = (pairs[i][1], final[n + i])
        results[kind] = {
            "pairs": n,
            "followed": proportion(followed, n),
            "kept": proportion(kept, n),
            "success": proportion(success, n),
            "original_correct": proportion(base_ok, n),
            "chance": CHANCE[kind],
        }
    complete = [e for e in examples.values() if len(e["swaps"]) == len(SWAP_KINDS)]
    return results, complete
