"""Tensors to PIL images, sample grids with captions, saving."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

PADDING = 4  # pixels between cells and around the figure
FONT_SIZE = 11
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont  # what PIL's default font is, by Pillow version


def default_font(size: int = FONT_SIZE) -> Font:
    """PIL's built-in font (bundled with Pillow; nothing is downloaded)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def text_height(font: Font) -> int:
    """Height of one line of text in ``font``, descenders included."""
    return int(font.getbbox("Hgjy")[3]) + 2


def tensor_to_pil(image: Tensor) -> Image.Image:
    """One image tensor as a PIL RGB image.

    Args:
        image: ``(3, H, W)`` float in [-1, 1] (clipped) or uint8; ``(1, H, W)`` / ``(H, W)`` grey.

    Returns:
        ``PIL.Image`` of mode RGB, ``W`` x ``H``.
    """
    if image.dim() == 2:
        image = image[None]
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"expected an image of shape (3, H, W), (1, H, W) or (H, W), got {tuple(image.shape)}"
        )
    image = image.detach().cpu()
    if image.dtype != torch.uint8:
        image = ((image.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return Image.fromarray(image.permute(1, 2, 0).contiguous().numpy(), mode="RGB")


def save_image(image: Image.Image | Tensor, path: str | os.PathLike[str]) -> Path:
    """Save a PIL image or an image tensor (see :func:`tensor_to_pil`); parent folders are created.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, Tensor):
        image = tensor_to_pil(image)
    image.save(path)
    return path


def wrap_text(text: str, font: Font, width: int, max_lines: int | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` pixels, at spaces; a word wider than ``width`` is
    split across lines, so every character of ``text`` is kept.

    Args:
        text: the text (runs of whitespace count as one space).
        font: the font it is drawn with.
        width: line width in pixels.
        max_lines: ``None`` (figures: the text in full); a number cuts to that many lines, the last one ending
            with "..." (only for callers that must fit a fixed box).

    Returns:
        The lines; without ``max_lines``, ``" ".join(lines)`` is ``" ".join(text.split())`` unless a single
        word is wider than ``width`` (it is then broken, its characters kept in order).
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > 1 and font.getlength(word) > width:  # a word longer than the line: split it
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "...") > width:
            last = last[:-1]
        lines[-1] = last + "..."
    return lines


def sample_grid(
    images: Sequence[Tensor] | Tensor,
    captions: Sequence[str] | None = None,
    ncol: int = 8,
    cell_size: int | None = None,
    caption_lines: int = 3,
    resample: Image.Resampling = Image.Resampling.NEAREST,
) -> Image.Image:
    """Images in a grid, each with its caption wrapped underneath, in full.

    Args:
        images: ``(B, 3, H, W)`` or a list of ``(3, H, W)``, float in [-1, 1] or uint8.
        captions: one caption per image, or ``None`` for no text.
        ncol: images per row.
        cell_size: side every image is resized to; default: the largest image side.
        caption_lines: lines of text reserved under every image; a row whose captions need more lines is
            taller (captions are never cut).
        resample: PIL filter for resizing (nearest keeps small generated images crisp).

    Returns:
        A white-background RGB ``PIL.Image`` of width ``ncol' * (cell + PADDING) + PADDING``, where
        ``ncol' = min(ncol, B)``, and height ``sum over rows (cell + lines_r * L + PADDING) + PADDING`` with
        ``lines_r = max(caption_lines, lines the row's captions need)`` (0 without captions), ``L`` one line.
    """
    if isinstance(images, Tensor) and images.dim() != 4:
        raise ValueError(f"expected images (B, 3, H, W) or a list of (3, H, W), got {tuple(images.shape)}")
    tensors = list(images)
    if not tensors:
        raise ValueError("sample_grid needs at least one image")
    if captions is not None and len(captions) != len(tensors):
        raise ValueError(f"got {len(tensors)} images but {len(captions)} captions")
    cell = cell_size or max(max(t.shape[-2:]) for t in tensors)
    font = default_font()
    line_h = text_height(font)
    ncol = max(1, min(ncol, len(tensors)))
    nrow = (len(tensors) + ncol - 1) // ncol
    wrapped = [wrap_text(c, font, cell) for c in captions] if captions is not None else None
    row_text = [
        max([caption_lines, *(len(w) for w in wrapped[r * ncol : (r + 1) * ncol])]) * line_h
        if wrapped is not None
        else 0
        for r in range(nrow)
    ]
    width = ncol * (cell + PADDING) + PADDING
    height = sum(cell + text_h + PADDING for text_h in row_text) + PADDING
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    y = PADDING
    for row in range(nrow):
        for col in range(ncol):
            i = row * ncol + col
            if i >= len(tensors):
                break
            x = PADDING + col * (cell + PADDING)
            canvas.paste(tensor_to_pil(tensors[i]).resize((cell, cell), resample), (x, y))
            for k, line in enumerate(wrapped[i] if wrapped is not None else []):
                draw.text((x, y + cell + k * line_h), line, fill=(0, 0, 0), font=font)
        y += cell + row_text[row] + PADDING
    return canvas
