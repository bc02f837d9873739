"""The report's figures: image grids (word swap, stage refinement), the λ study's curves (paper Fig. 3) and the
recipe study's learning curves.

Grids are :func:`attngan.viz.sample_grid` (cells of 128 px, captions written in full); the curves are matplotlib
(Agg) PNGs drawn from a study's ``results.json`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from torch import Tensor

from attngan.viz.images import sample_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CELL = 128


def swap_figure(examples: Sequence[dict[str, Any]]) -> Image.Image:
    """Per example a row: the original image, then the colour, shape and position swaps (same noise)."""
    cells = []
    for example in examples:
        cells.append((example["image"], example["caption"]))
        cells += [(image, f"{kind}: {caption}") for kind, (caption, image) in example["swaps"].items()]
    return sample_grid([c[0] for c in cells], [c[1] for c in cells], 1 + len(examples[0]["swaps"]), CELL)


def stage_figure(stages: Sequence[Tensor], captions: Sequence[str], num: int) -> Image.Image:
    """The first ``num`` captions, each a row of its stage images (G0, G1, ...), shown at one size."""
    cells = [
        (images[i], f"G{s} ({images.shape[-1]} px): {captions[i]}")
        for i in range(min(num, len(captions)))
        for s, images in enumerate(stages)
    ]
    return sample_grid([c[0] for c in cells], [c[1] for c in cells], len(stages), CELL)


# ------------------------------------------------------------------------------------------ curves
def _curve(
    runs: Sequence[dict[str, Any]], x_key: str, value: Callable[[dict[str, Any]], float | None]
) -> tuple[list[int], list[float]]:
    """``value(evaluation)`` (None: not measured) against ``evaluation[x_key]``, averaged over ``runs`` (seeds)."""
    points: dict[int, list[float]] = {}
    for run in runs:
        for e in run["evaluations"]:
            if (v := value(e)) is not None:
                points.setdefault(int(e.get(x_key) or 0) + (x_key == "epoch"), []).append(v)
    xs = sorted(points)
    return xs, [sum(points[x]) / len(points[x]) for x in xs]


def _plot(panels: Sequence[str], width: float, draw: Callable[[Sequence[Axes]], None], path: Path) -> Path:
    """A row of matplotlib (Agg) panels titled ``panels``, filled by ``draw(axes)``, saved as ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(width, 3.8))
    draw(axes)
    for axis, title in zip(axes, panels, strict=True):
        axis.set_title(title, fontsize=9)
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# (floor metric name of attngan.reproduce.rules.quality_of, title): one-object oracle accuracies
CURVES = (
    ("r_precision", "R-precision"),
    ("colour", "oracle colour (one object)"),
    ("side", "oracle side (one object)"),
    ("shape", "oracle shape (one object)"),
)


def lambda_figure(results: dict[str, Any], rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Paper Fig. 3 style: R-precision and the oracle's colour / side / shape accuracy against epoch, one line
    per run (seeds of a run averaged), and the best R-precision against λ (``rows``: the table's,
    :func:`attngan.reproduce.verdicts.lambda_rows`)."""
    from attngan.reproduce.rules import by_key, number, quality_of

    def draw(axes: Sequence[Axes]) -> None:
        for axis, (key, _) in zip(axes, CURVES, strict=False):
            for label, runs in by_key(results["runs"], lambda run: run["label"]).items():
                xs, ys = _curve(runs, "epoch", lambda e, key=key: quality_of(e).get(key))
                style = "--" if runs[0]["info"].get("model") == "AttnGAN2" else "-"
                if xs:
                    axis.plot(xs, ys, style, marker="o", ms=3, label=label)
            axis.set_xlabel("epoch")
        for model, marker in (("AttnGAN1", "-o"), ("AttnGAN2", "s")):
            chosen = [r for r in rows if r["model"] == model]
            if chosen:
                axes[-1].plot(
                    [number(r["lambda"]) for r in chosen], [r["r"] for r in chosen], marker, label=model
                )
        axes[-1].set_xlabel("λ")
        axes[-1].legend(fontsize=7)

    return _plot([t for _, t in CURVES] + ["best R-precision vs λ"], 4.0 * (len(CURVES) + 1), draw, path)


# ------------------------------------------------------------------------------------------ recipe study
def recipe_figure(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """One-object accuracy (mean of colour, side, shape, size) and R-precision against generator steps, one line
    per variant of the recipe study (seeds averaged at each step); the recipe and the release drawn bold."""
    from attngan.reproduce.rules import ONE_OBJECT, by_key, quality_of

    def one_object(evaluation: dict[str, Any]) -> float | None:
        quality = quality_of(evaluation)
        return (
            sum(quality[k] for k in ONE_OBJECT) / len(ONE_OBJECT) if set(ONE_OBJECT) <= set(quality) else None
        )

    def draw(axes: Sequence[Axes]) -> None:
        for variant, group in by_key(runs, lambda run: str(run["info"].get("variant"))).items():
            label = "the recipe" if variant == "recipe" else group[0]["label"]
            width = 2.2 if variant in ("recipe", "release") else 1.0
            for axis, value in zip(
                axes, (one_object, lambda e: quality_of(e).get("r_precision")), strict=True
            ):
                xs, ys = _curve(group, "generator_step", value)
                label_seeds = f"{label} ({len(group)} seed{'s' * (len(group) > 1)})"
                if xs:
                    axis.plot(xs, ys, marker="o", ms=3, lw=width, label=label_seeds)
                axis.set_xlabel("generator steps")

    panels = ["one-object accuracy (colour, side, shape, size)", "R-precision"]
    return _plot(panels, 9.0, draw, path)
