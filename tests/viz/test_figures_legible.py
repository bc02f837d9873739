"""Legible figures (#16): cells of at least 128 px, captions in full (wrapped, never cut), the attention scale
shown, and the word-swap figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from attngan.evaluation.figures import swap_word
from attngan.viz import attention_figure, default_font, sample_grid, word_swap_figure, wrap_text
from attngan.viz.attention import MIN_CELL, SCALE_BAR, _scale_label
from attngan.viz.images import PADDING, text_height

LONG = (
    "the picture shows a small blue triangle on the left and a large red square on the right on a dark "
    "background with a supercalifragilisticexpialidociousword at the end"
)


@pytest.fixture
def drawn_text(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string PIL draws during the test, in order."""
    texts: list[str] = []
    original = ImageDraw.ImageDraw.text

    def record(self, xy, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        texts.append(str(text))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", record)
    return texts


def test_wrap_text_keeps_every_word_and_character() -> None:
    font = default_font()
    lines = wrap_text(LONG, font, 100)
    assert len(lines) > 3
    assert all(font.getlength(line) <= 100 for line in lines)
    assert "".join(lines).replace(" ", "") == LONG.replace(" ", "")  # nothing cut, the long word broken
    assert not any(line.endswith("...") for line in lines)
    short = "a large red circle on the left"
    assert " ".join(wrap_text(short, font, 60)) == short
    cut = wrap_text(LONG, font, 100, max_lines=2)  # explicit cutting still exists for fixed boxes
    assert len(cut) == 2 and cut[-1].endswith("...")


def test_sample_grid_writes_long_captions_in_full(drawn_text: list[str]) -> None:
    images = torch.zeros(2, 3, 64, 64)
    short = sample_grid(images, captions=["a red circle", "a blue square"], ncol=2, cell_size=128)
    drawn_text.clear()
    grid = sample_grid(images, captions=[LONG, "a blue square"], ncol=2, cell_size=128)
    lines = wrap_text(LONG, default_font(), 128)
    assert len(lines) > 3 and grid.size[1] == short.size[1] + (len(lines) - 3) * text_height(default_font())
    assert drawn_text[: len(lines)] == lines


def _attention(tokens: list[str], grid: int = 8) -> torch.Tensor:
    """β with word 3 focused on the top-left quarter and every other word slightly above uniform elsewhere."""
    maps = torch.ones(len(tokens), grid, grid)
    maps[3, : grid // 2, : grid // 2] = 20.0
    return maps / maps.sum(dim=0, keepdim=True)  # (T, h, w), sums to 1 over the words


def test_attention_figure_default_cell_title_in_full_and_scale(drawn_text: list[str]) -> None:
    tokens = LONG.split()[:12]
    stages = [torch.full((3, 32, 32), 0.5), torch.full((3, 64, 64), -0.5)]
    figure = attention_figure(stages, [_attention(tokens)], tokens, top_k=5, title=LONG)

    # cells of 128 px: the 32-px stage image fills a whole 128-px cell
    pixels = np.asarray(figure.convert("L")).astype(float)
    font, line = default_font(), text_height(default_font())
    ncol = 5
    width = figure.size[0]
    title_lines = wrap_text(LONG, font, width - 2 * PADDING)
    assert len(title_lines) >= 2 and drawn_text[: len(title_lines)] == title_lines
    assert "".join(title_lines).replace(" ", "") == LONG.replace(" ", "")
    y_stage = PADDING + len(title_lines) * line + PADDING
    stage_cell = pixels[y_stage : y_stage + MIN_CELL, PADDING : PADDING + MIN_CELL]
    assert stage_cell.std() == 0 and stage_cell.mean() > 150

    # the scale: a bar brighter at the top than at the bottom, labelled with the largest value shown
    y_maps = y_stage + MIN_CELL + line + PADDING + line
    x_bar = PADDING + ncol * (MIN_CELL + PADDING) + SCALE_BAR // 2
    bar = pixels[y_maps + 2 : y_maps + MIN_CELL - 2, x_bar]
    assert bar[0] > bar[-1] + 100 and np.all(np.diff(bar) <= 0)
    peak = float(_attention(tokens)[3].max())
    assert _scale_label(peak) in drawn_text and _scale_label(1 / len(tokens)) in drawn_text  # top, uniform
    assert any("peak" in text for text in drawn_text)

    # one scale for the row: the near-uniform second word looks dark beside the focused first one
    first = pixels[y_maps : y_maps + MIN_CELL, PADDING : PADDING + MIN_CELL]
    second = pixels[y_maps : y_maps + MIN_CELL, 2 * PADDING + MIN_CELL : 2 * PADDING + 2 * MIN_CELL]
    assert first[:32, :32].mean() > second.max() + 50


def test_word_swap_figure_rows_cells_and_captions(drawn_text: list[str]) -> None:
    captions = swap_word("a large red circle on the left", "red", ["red", "blue", "orange"])
    assert captions[2] == "a large orange circle on the left"
    rows = [[torch.full((3, 64, 64), v), torch.full((3, 64, 64), -v)] for v in (0.2, 0.4, 0.6)]
    figure = word_swap_figure(rows, captions, swapped=["red", "blue", "orange"], title="same noise")
    cell = MIN_CELL
    assert figure.size[0] == PADDING + cell + 2 * (cell + PADDING) + PADDING
    assert figure.size[1] >= PADDING + text_height(default_font()) + PADDING + 3 * (cell + PADDING)
    words = [t for t in drawn_text if t != "same noise"]
    assert " ".join(words) == " ".join(captions)  # every caption in full, word by word
    with pytest.raises(ValueError, match="one row of images per caption"):
        word_swap_figure(rows[:2], captions)
    with pytest.raises(ValueError, match="same number"):
        word_swap_figure([rows[0], rows[1][:1], rows[2]], captions)
    pil_rows = [[Image.new("RGB", (64, 64), (200, 0, 0))] for _ in captions]
    assert word_swap_figure(pil_rows, captions).size[0] == PADDING + 2 * (cell + PADDING)


def test_swap_word_fixes_the_article_and_names_a_missing_word() -> None:
    assert swap_word("a red circle and a red square", "red", ["orange"]) == [
        "an orange circle and an orange square"
    ]
    assert swap_word("an orange circle", "orange", ["blue"]) == ["a blue circle"]
    with pytest.raises(ValueError, match="'green' is not in the caption"):
        swap_word("a red circle", "green", ["blue"])
