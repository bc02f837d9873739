"""Figures: sample grids with captions, word-attention maps (paper Fig. 1/4 style), word swaps (Fig. 5)."""

from attngan.viz.attention import (
    TopKAttention,
    attention_figure,
    attention_maps_topk,
    overlay_attention,
    smooth_upsample,
)
from attngan.viz.images import default_font, sample_grid, save_image, tensor_to_pil, wrap_text
from attngan.viz.word_swap import word_swap_figure

__all__ = [
    "TopKAttention",
    "attention_figure",
    "attention_maps_topk",
    "default_font",
    "overlay_attention",
    "sample_grid",
    "save_image",
    "smooth_upsample",
    "tensor_to_pil",
    "word_swap_figure",
    "wrap_text",
]
