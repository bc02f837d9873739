"""The report's figures: image grids (word swap, stage refinement), the λ study's curves (paper Fig. 3) and the
recipe study's learning curves.

Grids are PIL images with cells of at least 128 px and captions written in full (wrapped); the curves are
matplotlib (Agg) PNGs drawn from a study's ``results.json`` alone.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

__all__ = ["image_grid", "lambda_figure", "recipe_figure", "stage_figure", "swap_figure"]

CELL = 128
_TEXT_LINES = 4
_LINE = 12


def _to_pil(image: Tensor, size: int) -> Image.Image:
    """``(3, s, s)`` in [-1, 1] -> a ``size`` x ``size`` RGB image (nearest: the pixels as generated)."""
    pixels = F.interpolate(image[None].float(), size=(size, size), mode="nearest")[0]
    array = ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array, "RGB")


def image_grid(rows: Sequence[Sequence[tuple[Tensor, str]]], cell: int = CELL) -> Image.Image:
    """Rows of ``(image (3, s, s) in [-1, 1], text)`` cells; the text, wrapped, under each image."""
    font = ImageFont.load_default()
    columns = max(len(r) for r in rows)
    height = cell + _TEXT_LINES * _LINE + 6
    grid = Image.new("RGB", (columns * (cell + 4) + 4, len(rows) * height + 4), "white")
    draw = ImageDraw.Draw(grid)
    width_chars = max(12, cell // 6)
    for r, row in enumerate(rows):
        for c, (image, text) in enumerate(row):
            x, y = 4 + c * (cell + 4), 4 + r * height
            grid.paste(_to_pil(image, cell), (x, y))
            for k, line in enumerate(textwrap.wrap(text, width_chars)[:_TEXT_LINES]):
                draw.text((x, y + cell + 2 + k * _LINE), line, fill="black", font=font)
    return grid


def swap_figure(examples: Sequence[dict[str, Any]]) -> Image.Image:
    """Per example: the original image, then the colour, shape and position swaps (same noise)."""
    rows = []
    for example in examples:
        row = [(example["image"], example["caption"])]
        row += [(image, f"{kind}: {caption}") for kind, (caption, image) in example["swaps"].items()]
        rows.append(row)
    return image_grid(rows)


def stage_figure(stages: Sequence[Tensor], captions: Sequence[str], num: int) -> Image.Image:
    """The first ``num`` captions, each a row of its stage images (G0, G1, ...), shown at one size."""
    rows = []
    for i in range(min(num, len(captions))):
        rows.append(
            [(images[i], f"G{s} ({images.shape[-1]} px): {captions[i]}") for s, images in enumerate(stages)]
        )
    return image_grid(rows)


# ------------------------------------------------------------------------------------------ λ study
# (floor metric name of attngan.reproduce.rules.quality_of, title): one-object oracle accuracies
CURVES = (
    ("r_precision", "R-precision"),
    ("colour", "oracle colour (one object)"),
    ("side", "oracle side (one object)"),
    ("shape", "oracle shape (one object)"),
)


def lambda_figure(results: dict[str, Any], path: Path) -> Path:
    """Paper Fig. 3 style: R-precision and the oracle's colour / side / shape accuracy against epoch, one line
    per run (seeds of a run averaged), and the best R-precision against λ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attngan.reproduce.rules import quality_of

    fig, axes = plt.subplots(1, len(CURVES) + 1, figsize=(4.0 * (len(CURVES) + 1), 3.6))
    by_label: dict[str, list[dict[str, Any]]] = {}
    for run in results["runs"]:
        by_label.setdefault(run["label"], []).append(run)
    for axis, (key, title) in zip(axes, CURVES, strict=False):
        for label, runs in by_label.items():
            points: dict[int, list[float]] = {}
            for run in runs:
                for e in run["evaluations"]:
                    value = quality_of(e).get(key)
                    if value is not None:
                        points.setdefault(int(e["epoch"]) + 1, []).append(value)
            if points:
                xs = sorted(points)
                style = "--" if runs[0]["info"].get("model") == "AttnGAN2" else "-"
                axis.plot(
                    xs, [sum(points[x]) / len(points[x]) for x in xs], style, marker="o", ms=3, label=label
                )
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    best = axes[-1]
    from attngan.reproduce.rules import best_epoch  # the table's definition of "best"

    one = [
        (r["info"]["lambda"], best_epoch(r)) for r in results["runs"] if r["info"].get("model") != "AttnGAN2"
    ]
    one = [(lam, b["r_precision"]) for lam, b in one if b]
    if one:
        lams = sorted({lam for lam, _ in one})
        means = [
            sum(v for lam2, v in one if lam2 == lam) / sum(1 for lam2, _ in one if lam2 == lam)
            for lam in lams
        ]
        best.plot([str(_g(lam)) for lam in lams], means, marker="o", label="AttnGAN1")
    two = [
        (r["info"]["lambda"], best_epoch(r)) for r in results["runs"] if r["info"].get("model") == "AttnGAN2"
    ]
    for lam, b in two:
        if b:
            best.plot([str(_g(lam))], [b["r_precision"]], "s", color="C3", label="AttnGAN2")
    best.set_title("best R-precision vs λ")
    best.set_xlabel("λ")
    best.set_ylim(0, 1)
    best.grid(alpha=0.3)
    handles, labels = best.get_legend_handles_labels()
    if handles:
        unique = dict(zip(labels, handles, strict=True))
        best.legend(unique.values(), unique.keys(), fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _g(value: float) -> str:
    return f"{float(value):g}"


# ------------------------------------------------------------------------------------------ recipe study
def recipe_figure(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """One-object accuracy (mean of colour, side, shape, size) and R-precision against generator steps, one line
    per variant of the recipe study (seeds averaged at each step); the recipe and the release drawn bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attngan.reproduce.rules import ONE_OBJECT, quality_of

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8))
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(str(run["info"].get("variant")), []).append(run)
    for variant, group in by_variant.items():
        points: dict[int, list[tuple[float, float]]] = {}
        for run in group:
            for e in run["evaluations"]:
                quality = quality_of(e)
                if all(k in quality for k in ONE_OBJECT):
                    score = sum(quality[k] for k in ONE_OBJECT) / len(ONE_OBJECT)
                    r = float(quality.get("r_precision", float("nan")))
                    points.setdefault(int(e.get("generator_step") or 0), []).append((score, r))
        if not points:
            continue
        xs = sorted(points)
        label = "the recipe" if variant == "recipe" else group[0]["label"]
        width = 2.2 if variant in ("recipe", "release") else 1.0
        for axis, index in zip(axes, (0, 1), strict=True):
            ys = [sum(p[index] for p in points[x]) / len(points[x]) for x in xs]
            axis.plot(
                xs,
                ys,
                marker="o",
                ms=3,
                lw=width,
                label=f"{label} ({len(group)} seed{'s' * (len(group) > 1)})",
            )
    for axis, title in zip(
        axes, ("one-object accuracy (colour, side, shape, size)", "R-precision"), strict=True
    ):
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("generator steps")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
