"""The figures ``make train`` leaves beside the checkpoints: the attention figure (paper Fig. 4 style) and two
word-swap figures (the same noise, the colour word or the shape word changed; paper Fig. 5 style).

::

    from attngan import AttnGANPipeline
    from attngan.evaluation.figures import write_figures
    pipe = AttnGANPipeline.from_checkpoint("outputs/shapes/attngan.ckpt")
    write_figures(pipe, "outputs/shapes/figures")   # {"attention": ..., "word_swap": ..., "shape_swap": ...}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from attngan.pipeline import AttnGANPipeline, GenerationResult

__all__ = [
    "ATTENTION_CAPTION",
    "SWAP_CAPTION",
    "SWAP_COLOURS",
    "SWAP_SHAPES",
    "attention_example",
    "swap_word",
    "word_swap_example",
    "write_figures",
]

# shapes captions (the templates of attngan.data.shapes.captions): two objects, so that the figure shows which
# word is drawn where; and one object whose colour word is swapped
ATTENTION_CAPTION = "a small blue triangle on the left and a large red square on the right"
SWAP_CAPTION = "a large red circle on the left"
SWAP_COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow", "purple", "white")
SWAP_SHAPES: tuple[str, ...] = ("circle", "square", "triangle")


def swap_word(caption: str, word: str, replacements: Sequence[str]) -> list[str]:
    """``caption`` once per replacement, with every whole-word ``word`` replaced (and "a"/"an" before it fixed).

    >>> swap_word("a red circle", "red", ["blue", "orange"])
    ['a blue circle', 'an orange circle']

    Raises:
        ValueError: ``word`` is not a word of ``caption``.
    """
    pattern = re.compile(rf"\b(?:(an?)\s+)?{re.escape(word)}\b", re.IGNORECASE)
    if not pattern.search(caption):
        raise ValueError(f"the word {word!r} is not in the caption {caption!r}: nothing to swap")

    def replace(new: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return new
            return ("an " if new[:1].lower() in "aeiou" else "a ") + new

        return pattern.sub(one, caption)

    return [replace(new) for new in replacements]


def attention_example(
    pipe: AttnGANPipeline,
    caption: str = ATTENTION_CAPTION,
    seed: int = 0,
    top_k: int = 5,
    cell_size: int | None = None,
) -> tuple[Image.Image, GenerationResult]:
    """The attention figure of one caption (:meth:`GenerationResult.attention_figure`).

    Returns:
        ``(figure, the pipeline's GenerationResult)``.
    """
    result = pipe(caption, seed=seed)
    return result.attention_figure(0, top_k=top_k, cell_size=cell_size), result


def word_swap_example(
    pipe: AttnGANPipeline,
    caption: str = SWAP_CAPTION,
    word: str = "red",
    replacements: Sequence[str] = SWAP_COLOURS,
    seed: int = 0,
    num_images: int = 3,
    cell_size: int | None = None,
) -> tuple[Image.Image, GenerationResult]:
    """The word-swap figure: ``caption`` with ``word`` replaced by each of ``replacements`` (one row each),
    ``num_images`` columns; column ``j`` of every row has the same noise (``pipe(..., seed=seed)``).

    Returns:
        ``(figure, the pipeline's GenerationResult)``; ``result.noise`` holds the rows' noise (caption-major).
    """
    from attngan.viz import word_swap_figure

    known = [w for w in replacements if pipe.vocab.encode(w)[0]]  # a colour the model never saw: left out
    captions = swap_word(caption, word, known or list(replacements))
    result = pipe(captions, seed=seed, num_images_per_caption=num_images)
    n = result.num_images_per_caption
    rows = [result.images[r * n : (r + 1) * n] for r in range(len(captions))]  # caption-major
    figure = word_swap_figure(
        rows,
        captions,
        cell_size=cell_size,
        swapped=known or list(replacements),
        title=f'same noise in every column; "{word}" swapped (seed {seed})',
    )
    return figure, result


def write_figures(pipe: AttnGANPipeline, out_dir: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write ``<out_dir>/attention.png``, ``<out_dir>/word_swap.png`` (the colour word swapped) and
    ``<out_dir>/shape_swap.png`` (the shape word swapped) for the shapes captions above.

    Returns:
        ``{"attention": path, "word_swap": path, "shape_swap": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.png" for name in ("attention", "word_swap", "shape_swap")}
    attention_example(pipe, seed=seed)[0].save(paths["attention"])
    word_swap_example(pipe, seed=seed)[0].save(paths["word_swap"])
    word_swap_example(pipe, word="circle", replacements=SWAP_SHAPES, seed=seed)[0].save(paths["shape_swap"])
    return paths
