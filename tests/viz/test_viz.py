"""Figures: tensor conversion, sample grids, top-k attention and the attention figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from attngan.viz import (
    attention_figure,
    attention_maps_topk,
    default_font,
    sample_grid,
    save_image,
    smooth_upsample,
    tensor_to_pil,
)
from attngan.viz.attention import MIN_CELL
from attngan.viz.images import PADDING, text_height


def test_tensor_to_pil_maps_range() -> None:
    image = torch.stack([torch.full((4, 5), -1.0), torch.zeros(4, 5), torch.full((4, 5), 2.0)])
    pil = tensor_to_pil(image)
    assert pil.size == (5, 4) and pil.mode == "RGB"
    assert pil.getpixel((0, 0)) == (0, 128, 255)  # -1 -> 0, 0 -> 127.5 rounds to 128, >1 clips
    assert tensor_to_pil(torch.full((3, 2, 2), 7, dtype=torch.uint8)).getpixel((1, 1)) == (7, 7, 7)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        tensor_to_pil(torch.zeros(4, 2, 2))


def test_save_image_writes_png(tmp_path) -> None:
    path = save_image(torch.zeros(3, 8, 8), tmp_path / "sub" / "x.png")
    with Image.open(path) as image:
        assert image.size == (8, 8)


def test_sample_grid_size() -> None:
    images = torch.rand(5, 3, 16, 16) * 2 - 1
    plain = sample_grid(images, ncol=3)
    assert plain.size == (3 * (16 + PADDING) + PADDING, 2 * (16 + PADDING) + PADDING)
    captioned = sample_grid(list(images), captions=["a red circle on the left"] * 5, ncol=3, cell_size=64)
    line = text_height(default_font())
    assert captioned.size == (3 * (64 + PADDING) + PADDING, 2 * (64 + 3 * line + PADDING) + PADDING)
    with pytest.raises(ValueError, match="captions"):
        sample_grid(images, captions=["one"])


def test_attention_maps_topk_order_padding_and_suppression() -> None:
    tokens = ["a", "red", "circle", "left"]
    masses = torch.tensor([0.1, 0.4, 0.3, 0.2, 5.0])  # position 4 is padding: never chosen
    attention = masses[:, None, None].expand(5, 2, 2) / 4
    top = attention_maps_topk(attention, tokens, k=3)
    assert top.indices.tolist() == [1, 2, 3]
    assert top.words == ["red", "circle", "left"]
    assert top.masses.tolist() == pytest.approx([0.4, 0.3, 0.2])
    # values <= 1/4 are zeroed: 0.1, 0.075 and 0.05 per region all are
    assert float(top.maps.abs().sum()) == 0.0
    sharp = torch.zeros(4, 2, 2)
    sharp[2, 0, 0] = 0.9
    sharp[2, 1, 1] = 0.2
    kept = attention_maps_topk(sharp, tokens, k=1)
    assert kept.words == ["circle"]
    assert torch.equal(kept.maps[0], torch.tensor([[0.9, 0.0], [0.0, 0.0]]))

    batch = attention_maps_topk(torch.stack([attention[:4], sharp]), [tokens, tokens[:3]], k=2)
    assert [b.words for b in batch] == [["red", "circle"], ["circle", "a"]]


def test_attention_maps_topk_on_region_normalised_damsm_maps() -> None:
    tokens = ["a", "red", "circle"]
    alpha = torch.full((3, 4, 4), 1 / 16)  # DAMSM α: every word's map sums to 1 over the regions
    alpha[2] = 0.0
    alpha[2, 0, 0], alpha[2, 0, 1] = 0.75, 0.25  # "circle" is the most focused word
    alpha[1] = torch.linspace(0, 2 / 16, 16).view(4, 4)  # "red": a gentle ramp
    top = attention_maps_topk(alpha, tokens, k=2)
    assert top.normalisation == "regions"
    assert top.words == ["circle", "red"]
    assert float(top.maps[1].min()) == 0.0 and float(top.maps[1].max()) > 1 / 16  # below 1/16 dropped
    assert attention_maps_topk(alpha, tokens, k=2, normalisation="words").words == ["a", "red"]  # mass ties
    figure = attention_figure([torch.zeros(3, 16, 16)], [alpha], tokens, top_k=2)
    assert figure.size[0] > 2 * (MIN_CELL + PADDING) + PADDING  # 16-px images in 128-px cells, + the scale


def test_smooth_upsample_is_normalised_and_centred() -> None:
    maps = torch.zeros(1, 4, 4)
    maps[0, 1, 2] = 1.0
    up = smooth_upsample(maps, 32)
    assert up.shape == (1, 32, 32) and float(up.max()) == pytest.approx(1.0)
    y, x = divmod(int(up[0].argmax()), 32)
    assert 8 <= y < 16 and 16 <= x < 24


def _attention_example(grid_sizes=(16, 32)):
    tokens = ["a", "small", "red", "circle", "on", "the", "left"]
    stages = [torch.full((3, s, s), -0.8) for s in (16, 32, 64)]
    attention = []
    for grid in grid_sizes:
        maps = torch.full((len(tokens) + 2, grid, grid), 1e-6)  # two padding positions
        maps[3, : grid // 2, : grid // 2] = 1.0  # "circle": top-left quarter, most mass
        maps[2, grid // 2 :, grid // 2 :] = 0.5  # "red": bottom-right quarter, second
        attention.append(maps / maps[: len(tokens)].sum(dim=0, keepdim=True).clamp_min(1e-9))
    return tokens, stages, attention


def test_attention_figure_size_and_top_word_first() -> None:
    tokens, stages, attention = _attention_example()
    figure = attention_figure(stages, attention, tokens, top_k=5, title="a small red circle")

    cell, line = MIN_CELL, text_height(default_font())  # 64-px images: 128-px cells by default
    assert figure.size[0] > 5 * (cell + PADDING) + PADDING  # the scale column beside the maps
    labels = 2  # word; share and peak
    expected_height = (
        PADDING + (line + PADDING) + (cell + line + PADDING) + 2 * (line + cell + labels * line + PADDING)
    )
    assert figure.size[1] == expected_height

    pixels = np.asarray(figure.convert("L")).astype(float)
    half = cell // 2
    for stage in range(2):
        top = (
            PADDING
            + (line + PADDING)
            + (cell + line + PADDING)
            + stage * (line + cell + labels * line + PADDING)
        )
        top += line
        first = pixels[top : top + cell, PADDING : PADDING + cell]  # most attended word's cell
        second = pixels[top : top + cell, 2 * PADDING + cell : 2 * PADDING + 2 * cell]
        assert first[:half, :half].mean() > first[half:, half:].mean() + 50  # "circle" lights the top-left
        assert second[half:, half:].mean() > second[:half, :half].mean() + 50  # "red" lights the bottom-right

    with pytest.raises(ValueError, match="tokens"):
        attention_figure(stages, [torch.zeros(3, 4, 4)], tokens)
    with pytest.raises(ValueError, match="normalisation"):
        attention_maps_topk(attention[0], tokens, normalisation="softmax")


def test_attention_figure_cell_size_given() -> None:
    tokens, stages, attention = _attention_example()
    figure = attention_figure(stages, attention, tokens, top_k=5, cell_size=200)
    assert figure.size[0] > 5 * (200 + PADDING) + PADDING
    stage_cell = np.asarray(figure.convert("L"))[PADDING : PADDING + 200, PADDING : PADDING + 200]
    assert (stage_cell == stage_cell[0, 0]).all()  # the whole 200-px cell is the (flat) 16-px stage image
