"""Word-attention figures in the style of the paper's Fig. 1 and 4.

A figure shows the images of every generator stage in a row, then, for every attention stage, the ``top_k``
words that received the most attention: each word's map β (paper Eq. 2), with values ``<= 1/n`` (n = number of
words; the level of uniform attention) set to zero, upsampled smoothly (bilinear, then a Gaussian blur) and
laid over the final image, with the word, its share and its peak value written underneath. The maps of one
stage share one scale, drawn as a bar with its numeric range beside them, so a flat map looks flat.

Two kinds of maps exist. The generator's β is normalised over the *words* at every region (each region's
values sum to 1): words are ranked by total mass and values ``<= 1/n`` are dropped. The DAMSM's region
attention α is normalised over the *regions* for every word (each word's map sums to 1), so every word has
mass 1: words are then ranked by their peak (how focused the map is) and values ``<= 1/(h*w)`` (uniform over
regions) are dropped. ``normalisation="auto"`` tells the two apart by which of the sums is 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import Tensor

from attngan.viz.images import PADDING, Font, default_font, tensor_to_pil, text_height, wrap_text

MIN_CELL = 128  # smallest cell side of a figure (pixels): 64-px images are enlarged to it
SCALE_BAR = 10  # width of an attention row's scale bar (pixels)


@dataclass
class TopKAttention:
    """The most attended words of one caption at one stage, most attended first.

    Attributes:
        indices: ``(k,)`` word positions.
        words: the ``k`` words.
        masses: ``(k,)`` total attention of each word (sum of its map over the regions).
        maps: ``(k, h, w)`` the words' maps, values at or below the uniform level set to zero.
        normalisation: ``"words"`` (β, ranked by mass) or ``"regions"`` (α, ranked by peak).
    """

    indices: Tensor
    words: list[str]
    masses: Tensor
    maps: Tensor
    normalisation: str = "words"


NORMALISATIONS = ("auto", "words", "regions")


def _detect_normalisation(valid: Tensor) -> str:
    """ "words" when every region's values sum to 1 over the words, "regions" when every word's map sums to 1."""
    if torch.allclose(valid.sum(dim=0), torch.ones(()), atol=1e-3):
        return "words"
    if torch.allclose(valid.sum(dim=(1, 2)), torch.ones(()), atol=1e-3):
        return "regions"
    return "words"


def _topk_one(
    attention: Tensor, tokens: Sequence[str], k: int, suppress: bool, normalisation: str = "auto"
) -> TopKAttention:
    num_words = len(tokens)
    if num_words == 0 or num_words > attention.shape[0]:
        raise ValueError(f"got {num_words} tokens for attention over {attention.shape[0]} word positions")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    valid = attention[:num_words].detach().float()  # (n, h, w)
    if normalisation == "auto":
        normalisation = _detect_normalisation(valid)
    masses = valid.sum(dim=(1, 2))  # (n,)
    if normalisation == "words":
        ranking, uniform_level = masses, 1.0 / num_words
    else:
        ranking, uniform_level = valid.flatten(1).max(dim=1).values, 1.0 / valid[0].numel()
    indices = ranking.sort(descending=True, stable=True).indices[:k]  # ties: the earlier word first
    maps = valid[indices]
    if suppress:
        maps = maps.masked_fill(maps <= uniform_level, 0.0)
    words = [tokens[i] for i in indices.tolist()]
    return TopKAttention(indices, words, masses[indices], maps, normalisation)


def attention_maps_topk(
    attention: Tensor,
    tokens: Sequence[str] | Sequence[Sequence[str]],
    k: int = 5,
    suppress: bool = True,
    normalisation: str = "auto",
) -> TopKAttention | list[TopKAttention]:
    """The ``k`` most attended words, and their maps.

    Args:
        attention: ``(T, h, w)`` for one caption or ``(B, T, h, w)`` for a batch; positions ``>= len(tokens)``
            (padding) are ignored.
        tokens: the caption's words (``list[str]``), or one list per caption for a batch.
        k: words kept (fewer when the caption is shorter).
        suppress: zero the values at or below the uniform level, as the paper's figures do.
        normalisation: ``"words"`` (generator β: rank by mass, drop ``<= 1/n``), ``"regions"`` (DAMSM α:
            rank by peak, drop ``<= 1/(h*w)``) or ``"auto"`` (see the module docstring).

    Returns:
        A :class:`TopKAttention`, or a list of them for a batch.
    """
    if attention.dim() == 3:
        if tokens and not isinstance(tokens[0], str):
            raise ValueError("for attention (T, h, w) give tokens as one list of words")
        return _topk_one(attention, tokens, k, suppress, normalisation)  # type: ignore[arg-type]
    if attention.dim() == 4:
        if len(tokens) != attention.shape[0]:
            raise ValueError(f"got {attention.shape[0]} attention maps but {len(tokens)} token lists")
        return [_topk_one(a, t, k, suppress, normalisation) for a, t in zip(attention, tokens)]  # type: ignore[arg-type]
    raise ValueError(f"expected attention (T, h, w) or (B, T, h, w), got {tuple(attention.shape)}")


def _gaussian_kernel(sigma: float) -> Tensor:
    radius = max(1, round(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def smooth_upsample(maps: Tensor, size: int, sigma: float | None = None, normalise: bool = True) -> Tensor:
    """Upsample attention maps bilinearly and blur them with a Gaussian, then scale each to [0, 1].

    Args:
        maps: ``(k, h, w)``.
        size: output side.
        sigma: Gaussian std in output pixels; default half the upsampling factor (at least 1).
        normalise: divide each map by its maximum; ``False`` keeps the values (for a scale shared by maps).

    Returns:
        ``(k, size, size)``: in [0, 1] (each map divided by its maximum; all-zero maps stay zero), or the
        smoothed values themselves with ``normalise=False``.
    """
    h, w = maps.shape[-2:]
    up = F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)
    sigma = sigma if sigma is not None else max(1.0, 0.5 * size / max(h, w))
    kernel = _gaussian_kernel(sigma).to(up)
    pad = kernel.numel() // 2
    up = F.conv2d(F.pad(up, (pad, pad, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    up = F.conv2d(F.pad(up, (0, 0, pad, pad), mode="replicate"), kernel.view(1, 1, -1, 1))
    up = up[:, 0]  # (k, size, size)
    if not normalise:
        return up
    peak = up.flatten(1).max(dim=1).values.clamp_min(1e-12)
    return (up / peak[:, None, None]).clamp(0, 1)


def overlay_attention(image: Image.Image, heat: Tensor, alpha: float = 0.7) -> Image.Image:
    """Lay a ``(size, size)`` map in [0, 1] over an RGB image as a grey layer (the paper's look)."""
    base = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).float()  # (H, W, 3)
    layer = (heat.cpu()[..., None] * 255).expand_as(base)
    mixed = ((1 - alpha) * base + alpha * layer).round().clamp(0, 255).to(torch.uint8)
    return Image.fromarray(mixed.numpy(), mode="RGB")


def _scale_label(value: float) -> str:
    return f"{value:.3g}"


def _scale_width(font: Font) -> int:
    """Width of the scale column: the bar, a gap and the widest label (three significant digits), the same
    for every figure, so that the figures of one caption set have one size."""
    return SCALE_BAR + 3 + int(font.getlength("0.000000")) + 1 + PADDING


def _draw_scale(
    canvas: Image.Image, x: int, y: int, cell: int, top: float, uniform: float, alpha: float, font: Font
) -> None:
    """A vertical bar of the overlay's grey levels from the uniform level (bottom; values at or below it are
    drawn dark) to ``top`` (top), each end labelled with its value."""
    levels = torch.linspace(1, 0, cell)[:, None].expand(cell, SCALE_BAR)  # (cell, bar): top = 1
    bar = (alpha * levels * 255).round().to(torch.uint8)[..., None].expand(cell, SCALE_BAR, 3)
    canvas.paste(Image.fromarray(bar.contiguous().numpy(), mode="RGB"), (x, y))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((x, y, x + SCALE_BAR - 1, y + cell - 1), outline=(0, 0, 0))
    line_h = text_height(font)
    for value, fraction in ((top, 0.0), (uniform, 1.0)):
        ty = y + round(fraction * (cell - 1))
        draw.line((x + SCALE_BAR, ty, x + SCALE_BAR + 2, ty), fill=(0, 0, 0))
        label_y = min(max(ty - line_h // 2, y), y + cell - line_h)
        draw.text((x + SCALE_BAR + 3, label_y), _scale_label(value), fill=(0, 0, 0), font=font)


def attention_figure(
    stage_images: Sequence[Tensor],
    attention: Sequence[Tensor],
    tokens: Sequence[str],
    top_k: int = 5,
    cell_size: int | None = None,
    title: str | None = None,
    alpha: float = 0.7,
    normalisation: str = "auto",
    resample: Image.Resampling = Image.Resampling.NEAREST,
) -> Image.Image:
    """Stage images and the top-k attended words of every attention stage, paper Fig. 1/4 style.

    Layout (white background, ``PADDING`` pixels between cells; ``L`` = one text line): the title wrapped in
    full over ``title_lines`` lines; a row of the stage images, each labelled with its size; then per
    attention stage a header line ("attention at h x w") and a row of ``top_k`` cells, most attended word
    first, each labelled (in full, wrapped) with its word, its share of the stage's attention (generator β)
    and its peak value. The maps of a row share one scale, drawn as a bar at the row's end: the bar's top is
    the largest value of the row's maps (at least twice the uniform level), its bottom the uniform level
    (``1/n`` for β, ``1/(h*w)`` for the DAMSM's α; values at or below it are drawn dark), so a flat map looks
    flat.

    Args:
        stage_images: per generator stage, ``(3, H_s, W_s)`` in [-1, 1] (increasing sizes; the last one is
            the background of the attention maps).
        attention: per attention stage, ``(T, h, w)`` word attention of this sample.
        tokens: the caption's words; only the first ``len(tokens)`` positions of the maps are read.
        top_k: words shown per attention stage.
        cell_size: side of every cell; default the final image's side, at least ``MIN_CELL`` (128) pixels.
        title: text above the figure (e.g. the caption), wrapped, never cut.
        alpha: opacity of the attention layer.
        normalisation: how the maps are normalised, see :func:`attention_maps_topk` (``"auto"`` handles both
            the generator's β and the DAMSM's α).
        resample: PIL filter enlarging the images to the cell (nearest shows the generated pixels as they are).

    Returns:
        ``PIL.Image`` of width ``C * (cell + PADDING) + PADDING + S`` with ``C = max(len(stage_images),
        top_k)`` and ``S`` the scale column (0 without attention), and height ``PADDING + [title_lines * L +
        PADDING if title] + (cell + L + PADDING) + sum over attention stages (L + cell + label_lines * L +
        PADDING)``, ``label_lines`` >= 2.
    """
    if not stage_images:
        raise ValueError("attention_figure needs at least one stage image")
    cell = cell_size or max(MIN_CELL, *stage_images[-1].shape[-2:])
    font = default_font()
    line_h = text_height(font)
    ncol = max(len(stage_images), top_k)
    rows = []  # per attention stage: (h, w, labels, heats, top of the scale, uniform level)
    for s, stage_attention in enumerate(attention):
        if stage_attention.dim() != 3:
            raise ValueError(f"attention[{s}] must be (T, h, w), got {tuple(stage_attention.shape)}")
        top = _topk_one(stage_attention, tokens, top_k, suppress=True, normalisation=normalisation)
        valid = stage_attention[: len(tokens)].detach().float()
        uniform = 1.0 / len(tokens) if top.normalisation == "words" else 1.0 / valid[0].numel()
        # one scale per row, from the uniform level to the row's peak (at least twice uniform: flat looks flat)
        scale_top = max(float(top.maps.max()) if top.maps.numel() else 0.0, 2 * uniform)
        up = smooth_upsample(top.maps, cell, normalise=False)
        heats = ((up - uniform) / (scale_top - uniform)).clamp(0, 1)
        total = float(valid.sum().clamp_min(1e-12))
        peaks = valid[top.indices].flatten(1).max(dim=1).values.tolist()
        labels = []
        for word, mass, peak in zip(top.words, top.masses.tolist(), peaks):
            share = f"{100 * mass / total:.0f}% · " if top.normalisation == "words" else ""
            labels.append(wrap_text(word, font, cell) + wrap_text(f"{share}peak {peak:.3g}", font, cell))
        rows.append((*stage_attention.shape[-2:], labels, heats, scale_top, uniform))

    scale_w = _scale_width(font) if rows else 0
    width = ncol * (cell + PADDING) + PADDING + scale_w
    title_lines = wrap_text(title, font, width - 2 * PADDING) if title else []

    label_lines = [max([2, *(len(label) for label in row[2])]) for row in rows]
    height = PADDING + (len(title_lines) * line_h + PADDING if title_lines else 0) + (cell + line_h + PADDING)
    height += sum(line_h + cell + n * line_h + PADDING for n in label_lines)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)

    y = PADDING
    for k, line in enumerate(title_lines):
        draw.text((PADDING, y + k * line_h), line, fill=(0, 0, 0), font=font)
    if title_lines:
        y += len(title_lines) * line_h + PADDING
    for s, image in enumerate(stage_images):
        x = PADDING + s * (cell + PADDING)
        canvas.paste(tensor_to_pil(image).resize((cell, cell), resample), (x, y))
        draw.text((x, y + cell), f"{image.shape[-1]}x{image.shape[-2]}", fill=(0, 0, 0), font=font)
    y += cell + line_h + PADDING

    background = tensor_to_pil(stage_images[-1]).resize((cell, cell), resample)
    for (h, w, labels, heats, scale_top, uniform), lines in zip(rows, label_lines):
        draw.text((PADDING, y), f"attention at {h}x{w}", fill=(0, 0, 0), font=font)
        y += line_h
        for j, label in enumerate(labels):
            x = PADDING + j * (cell + PADDING)
            canvas.paste(overlay_attention(background, heats[j], alpha), (x, y))
            for k, line in enumerate(label):
                draw.text((x, y + cell + k * line_h), line, fill=(0, 0, 0), font=font)
        _draw_scale(canvas, PADDING + ncol * (cell + PADDING), y, cell, scale_top, uniform, alpha, font)
        y += cell + lines * line_h + PADDING
    return canvas
