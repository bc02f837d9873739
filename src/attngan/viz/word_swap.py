"""Word-swap figures (paper Fig. 5 style): the same noise, one word of the caption changed per row.

Every row shows the final images of one caption; column ``j`` of every row was drawn from the same noise
(z and CA's ε), so what changes from row to row is the word alone. The caption is written in full (wrapped)
to the left of its images, the swapped word in a colour of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw
from torch import Tensor

from attngan.viz.attention import MIN_CELL
from attngan.viz.images import PADDING, default_font, tensor_to_pil, text_height, wrap_text

HIGHLIGHT = (200, 0, 0)  # the swapped word


def word_swap_figure(
    images: Sequence[Sequence[Tensor | Image.Image]],
    captions: Sequence[str],
    cell_size: int | None = None,
    text_width: int | None = None,
    swapped: Sequence[str] | None = None,
    title: str | None = None,
    resample: Image.Resampling = Image.Resampling.NEAREST,
) -> Image.Image:
    """One row per caption: its caption (wrapped, in full), then its images.

    Args:
        images: per caption (row), its ``n`` final images, ``(3, H, W)`` in [-1, 1] or PIL; image ``j`` of every row
            should come from the same noise (``AttnGANPipeline(captions, seed=s, num_images_per_caption=n)``).
        captions: one caption per row.
        cell_size: side of every image cell; default the image side, at least ``MIN_CELL`` (128) pixels.
        text_width: width of the caption column; default one cell.
        swapped: per row, the word that differs between the rows (drawn in ``HIGHLIGHT``); optional.
        title: a line above the figure (wrapped, in full).
        resample: PIL filter enlarging the images to the cell.

    Returns:
        ``PIL.Image`` of width ``PADDING + text_width + n * (cell + PADDING) + PADDING`` and height
        ``PADDING + [title_lines * L + PADDING] + rows * (max(cell, caption_lines * L) + PADDING)``.
    """
    if not images or len(images) != len(captions):
        raise ValueError(
            f"word_swap_figure needs one row of images per caption, got {len(images)} rows and "
            f"{len(captions)} captions"
        )
    counts = {len(row) for row in images}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"every row needs the same number (>= 1) of images, got {sorted(counts)}")
    if swapped is not None and len(swapped) != len(captions):
        raise ValueError(f"got {len(swapped)} swapped words for {len(captions)} captions")
    (ncol,) = counts
    first = images[0][0]
    cell = cell_size or max(MIN_CELL, *(first.size if isinstance(first, Image.Image) else first.shape[-2:]))
    text_w = text_width or cell
    font = default_font()
    line_h = text_height(font)
    width = PADDING + text_w + ncol * (cell + PADDING) + PADDING
    title_lines = wrap_text(title, font, width - 2 * PADDING) if title else []
    wrapped = [wrap_text(c, font, text_w) for c in captions]
    row_h = [max(cell, len(lines) * line_h) for lines in wrapped]
    top = PADDING + (len(title_lines) * line_h + PADDING if title_lines else 0)
    canvas = Image.new("RGB", (width, top + sum(h + PADDING for h in row_h)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for k, line in enumerate(title_lines):
        draw.text((PADDING, PADDING + k * line_h), line, fill=(0, 0, 0), font=font)
    y = top
    for r, (row, lines) in enumerate(zip(images, wrapped)):
        word = swapped[r].lower() if swapped is not None else None
        for k, line in enumerate(lines):
            x = PADDING
            for token in line.split(" "):
                colour = HIGHLIGHT if word is not None and token.lower().strip(",.") == word else (0, 0, 0)
                draw.text((x, y + k * line_h), token, fill=colour, font=font)
                x += round(font.getlength(token + " "))
        for j, image in enumerate(row):
            x = PADDING + text_w + PADDING + j * (cell + PADDING)
            pil = image if isinstance(image, Image.Image) else tensor_to_pil(image)
            canvas.paste(pil.convert("RGB").resize((cell, cell), resample), (x, y))
        y += row_h[r] + PADDING
    return canvas
